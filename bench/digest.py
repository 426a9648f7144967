"""Digest generation (numbers, attention, forums, stories and the PNG chart): time and peak memory.

The digest is built for a small portfolio (the baseline) and for the large one of
the foundation benchmark, in the same run, and the growth is reported as a ratio.
Each portfolio has a year of answers per model and a health history of about one
change a month, so the chart has twelve real weeks to draw.

    python -m bench.digest [--backend sqlite|postgres|both] [--repeat N]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
import tracemalloc
from datetime import timedelta
from pathlib import Path

from bench.portfolio import Size, add_answers, bulk_insert, create_schema, finish_load, load_portfolio
from bench.run import NOW, prepare_database
from handlers.context import Policy
from handlers.digest import build_digest
from storage.db import create_engine, session_factory
from storage.models import ModelHealthEvent

HEALTHS = ("healthy", "healthy", "degraded", "abandoned", "silent")
POLICY = Policy(timezone="UTC", digest_channel="#ml-digest")


def size_for(models: int) -> Size:
    """A portfolio with the large one's proportions: 4 people, 10 reports and 200 answers per model."""
    return Size(models=models, units=max(2, models // 25), people=max(50, models * 4), answers=models * 200, reports=models * 10)


async def add_health_history(engine, size: Size, weeks: int = 26, seed: int = 3) -> int:
    """Give each model a health change about every four weeks over the last `weeks` weeks."""
    rng = random.Random(seed)
    rows = [
        dict(model_id=m + 1, health=rng.choice(HEALTHS), reason="bench", at=NOW - timedelta(weeks=weeks) + timedelta(days=d))
        for m in range(size.models)
        for d in sorted(rng.sample(range(weeks * 7), weeks // 4))
    ]
    async with engine.begin() as c:
        await bulk_insert(c, ModelHealthEvent, rows)
    return len(rows)


async def measure(backend: str, models: int, repeat: int, tmp: Path) -> dict:
    url = await prepare_database(backend, tmp)
    engine = create_engine(url)
    size = size_for(models)
    await create_schema(engine)
    await load_portfolio(engine, size, NOW)
    await add_answers(engine, size, NOW, 0, size.answers // size.models)
    events = await add_health_history(engine, size)
    await finish_load(engine)
    sessions = session_factory(engine)
    async with sessions() as session:
        await build_digest(session, POLICY, NOW)  # warm: imports matplotlib, fills caches
    times, peaks = [], []
    for _ in range(repeat):
        async with sessions() as session:
            tracemalloc.start()
            start = time.perf_counter()
            view = await build_digest(session, POLICY, NOW)
            times.append(time.perf_counter() - start)
            peaks.append(tracemalloc.get_traced_memory()[1])
            tracemalloc.stop()
    await engine.dispose()
    assert view.attachments and view.attachments[0].content.startswith(b"\x89PNG")
    return {
        "models": models,
        "health_events": events,
        "median_ms": round(statistics.median(times) * 1000, 1),
        "peak_mib": round(max(peaks) / 2**20, 1),
    }


async def bench(backend: str, repeat: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        small = await measure(backend, 100, repeat, Path(tmp))
        large = await measure(backend, 5_000, repeat, Path(tmp))
    print(f"\n== digest on {backend}")
    for row in (small, large):
        print(f"  {row['models']:>5} models ({row['health_events']} health changes): {row['median_ms']} ms median, {row['peak_mib']} MiB peak allocated")
    print(f"  growth 100 → 5,000 models: time ×{large['median_ms'] / small['median_ms']:.2f}, memory ×{large['peak_mib'] / small['peak_mib']:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    for backend in ("sqlite", "postgres") if args.backend == "both" else (args.backend,):
        asyncio.run(bench(backend, args.repeat))


if __name__ == "__main__":
    main()
