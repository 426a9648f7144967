"""Forum agenda building for a unit with 500 open failure reports: p50 and p95.

On the large portfolio (5,000 models and 50,000 reports), one unit is given 500 open
reports, 50 proposed topics and 50 open action items; a second unit, measured in the
same run as the baseline, has five open reports and nothing else. The figure that
matters is the p95 of `build_agenda` for the busy unit, and its ratio to the quiet one.

    python -m bench.agenda [--backend sqlite|postgres|both] [--repeat N]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from bench.digest import size_for
from bench.portfolio import bulk_insert, create_schema, finish_load, load_portfolio
from bench.run import NOW, ms, pct, prepare_database
from handlers.agenda import build_agenda
from storage.db import create_engine, session_factory
from storage.models import ActionItem, BusinessUnit, FailureReport, ForumSession, ForumTopic, MLModel, ReviewForum

BUSY_REPORTS = 500


async def add_forums(engine, size) -> tuple[int, int]:
    """Give unit 1 a busy agenda and a new quiet unit a small one; return their session ids."""
    quiet_unit, quiet_model = 10_000, size.models + 1
    start = NOW + timedelta(days=3)
    async with engine.begin() as c:
        await bulk_insert(c, BusinessUnit, [dict(id=quiet_unit, name="Quiet unit", timezone="UTC", created_at=NOW)])
        await bulk_insert(
            c,
            MLModel,
            [
                dict(
                    id=quiet_model,
                    key="quiet",
                    name="Quiet model",
                    description="",
                    unit_id=quiet_unit,
                    owner_id=1,
                    status="active",
                    health="healthy",
                    health_reason="",
                    open_reports=0,
                    created_at=NOW,
                    updated_at=NOW,
                )
            ],
        )
        await bulk_insert(
            c,
            ReviewForum,
            [
                dict(id=u, unit_id=u, schedule="{}", duration_minutes=60, announce_days_ahead=7, active=True, from_config=True, created_at=NOW)
                for u in (1, quiet_unit)
            ],
        )
        await bulk_insert(
            c,
            ForumSession,
            [
                dict(id=sid, forum_id=forum, starts_at=starts, ends_at=starts + timedelta(hours=1), timezone="UTC", status=status)
                for sid, forum, starts, status in ((1, 1, start - timedelta(days=28), "held"), (2, 1, start, "scheduled"), (3, quiet_unit, start, "scheduled"))
            ],
        )
        unit_models = list(range(1, size.models + 1, size.units))  # unit 1 holds every units-th model
        await bulk_insert(
            c,
            FailureReport,
            [
                dict(
                    model_id=unit_models[i % len(unit_models)],
                    receipt_code=f"B{i:07d}",
                    anonymous=False,
                    what_happened=f"Busy unit report {i}",
                    impact=("none", "minor", "major", "critical")[i % 4],
                    status="open",
                    created_at=NOW - timedelta(days=i % 300),
                    updated_at=NOW,
                )
                for i in range(BUSY_REPORTS)
            ]
            + [
                dict(
                    model_id=quiet_model,
                    receipt_code=f"Q{i:07d}",
                    anonymous=False,
                    what_happened=f"Quiet report {i}",
                    impact="minor",
                    status="open",
                    created_at=NOW - timedelta(days=i),
                    updated_at=NOW,
                )
                for i in range(5)
            ],
        )
        await bulk_insert(c, ForumTopic, [dict(unit_id=1, text=f"Topic {i}", created_at=NOW - timedelta(days=1)) for i in range(50)])
        await bulk_insert(c, ActionItem, [dict(session_id=1, owner_id=1 + i, text=f"Item {i}", followups=0, created_at=NOW) for i in range(50)])
    return 2, 3


async def measure(backend: str, models: int, repeat: int, tmp: Path) -> dict:
    url = await prepare_database(backend, tmp)
    engine = create_engine(url)
    size = size_for(models)
    await create_schema(engine)
    await load_portfolio(engine, size, NOW)
    busy_id, quiet_id = await add_forums(engine, size)
    await finish_load(engine)
    sessions = session_factory(engine)
    result = {}
    for name, session_id in (("quiet", quiet_id), ("busy", busy_id)):
        samples, lines = [], 0
        for _ in range(repeat):
            async with sessions() as session:
                fs = await session.get(ForumSession, session_id)
                forum = await session.get(ReviewForum, fs.forum_id)
                unit = await session.get(BusinessUnit, forum.unit_id)
                start = time.perf_counter()
                items = await build_agenda(session, fs, forum, unit)
                samples.append(time.perf_counter() - start)
                lines = len(items)
        result[name] = {"p50_ms": ms(pct(samples, 50)), "p95_ms": ms(pct(samples, 95)), "lines": lines}
    await engine.dispose()
    return result


async def bench(backend: str, repeat: int, models: int = 5_000) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        result = await measure(backend, models, repeat, Path(tmp))
    quiet, busy = result["quiet"], result["busy"]
    print(f"\n== forum agenda on {backend} ({models:,} models)")
    print(f"  quiet unit (5 open reports):    p50 {quiet['p50_ms']} ms, p95 {quiet['p95_ms']} ms, {quiet['lines']} lines")
    print(f"  busy unit ({BUSY_REPORTS} open reports, 50 topics, 50 open items): p50 {busy['p50_ms']} ms, p95 {busy['p95_ms']} ms, {busy['lines']} lines")
    print(f"  busy / quiet p95: ×{busy['p95_ms'] / quiet['p95_ms']:.2f}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    for backend in ("sqlite", "postgres") if args.backend == "both" else (args.backend,):
        asyncio.run(bench(backend, args.repeat))


if __name__ == "__main__":
    main()
