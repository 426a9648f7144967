"""What the Slack and Teams benchmarks share: the fan-out figures and the command line."""

from __future__ import annotations

import argparse
import asyncio
import json
from collections import Counter
from collections.abc import Awaitable, Callable

from sqlalchemy import text

from bench.portfolio import Size
from bench.run import RESULTS


async def delivery_figures(engine, count: int, accepted_at: list[float], messages: Counter, refused: int, kill_after: int | None, platform: str) -> dict:
    """Return what a fan-out delivered: accepted, distinct, duplicates, lost, recorded, 429s."""
    async with engine.connect() as c:
        recorded = (await c.execute(text("SELECT count(*) FROM outbound_message WHERE status = 'sent'"))).scalar_one()
    return {
        f"accepted_by_{platform}": len(accepted_at),
        "distinct": len(messages),
        "duplicates": sum(n - 1 for n in messages.values()),
        "lost": count - len(messages),
        "recorded_sent": recorded,
        "refused_429": refused,
        "killed_after": kill_after,
    }


def main(
    name: str,
    doc: str,
    latency: Callable[[Size, int], Awaitable[dict]],
    fan_out: Callable[[int, int, int | None], Awaitable[dict]],
    scale: int,
    scale_help: str,
    replicas: Callable[[int, int, str | None], Awaitable[dict]] | None = None,
) -> int:
    """Run a platform's benchmarks (interaction latency, fan-out straight through, killed half-way, by two replicas) and print them.

    `replicas(count, scale, postgres_url)` returns the named figures of its fan-outs by two replicas.
    """
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--scale", type=int, default=scale, help=f"{scale_help} (default {scale})")
    if replicas is not None:
        parser.add_argument("--postgres", metavar="URL", help="also run the two-replica fan-outs on this PostgreSQL database (dropped and created again)")
    args = parser.parse_args()
    RESULTS.mkdir(exist_ok=True)
    size = Size(models=200, units=20, people=2_000, answers=20_000, reports=500) if args.quick else Size()
    count = 200 if args.quick else 2_000
    report = {
        "latency": asyncio.run(latency(size, 50 if args.quick else 300)),
        "fan_out": asyncio.run(fan_out(count, args.scale, None)),
        "fan_out_killed": asyncio.run(fan_out(count, args.scale, count // 2)),
    }
    if replicas is not None:
        report.update(asyncio.run(replicas(count, args.scale, args.postgres)))
    (RESULTS / (f"{name}-quick.json" if args.quick else f"{name}.json")).write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))
    return 0
