"""Handlers layer: charts, drawn as PNG bytes that any platform can attach.

matplotlib is imported when a chart is drawn, not when the bot starts: most
processes draw one chart a week, and the import costs tens of megabytes.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date

from handlers.health import Health

COLOURS = {
    Health.HEALTHY: "#2e9d5b",
    Health.DEGRADED: "#f0a030",
    Health.ABANDONED: "#d64545",
    Health.SILENT: "#b8bec6",
    Health.UNKNOWN: "#e4e7eb",
}


def health_chart(weeks: Sequence[date], counts: Sequence[dict[str, int]], title: str) -> bytes:
    """Draw stacked bars of models per health, one bar per week, and return the PNG."""
    import matplotlib

    matplotlib.use("Agg")  # no display, thread-safe enough for one chart at a time
    from matplotlib.figure import Figure

    figure = Figure(figsize=(8, 3.6), dpi=100)
    axes = figure.add_subplot()
    positions = range(len(weeks))
    bottom = [0] * len(weeks)
    for health in Health:
        heights = [c.get(health, 0) for c in counts]
        axes.bar(positions, heights, bottom=bottom, color=COLOURS[health], label=health.value, width=0.8)
        bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    axes.set_xticks(list(positions), [f"{w.day} {w:%b}" for w in weeks], fontsize=8)
    axes.set_ylabel("models")
    axes.set_title(title, fontsize=10)
    axes.spines[["top", "right"]].set_visible(False)
    axes.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False)
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()
