"""Run the benchmarks of BENCHMARKS.md on SQLite and PostgreSQL and print their figures.

    python -m bench.run                       # the full size of the issue, both backends
    python -m bench.run --backend sqlite      # one backend
    python -m bench.run --quick               # a small portfolio, for a smoke run

Every latency is shown beside a baseline measured in the same run on the same
database (a `SELECT 1` through the same session machinery), because these
machines are noisy; the growth of `/mlstatus` is a ratio of two runs of the same
code on the same database, before and after most of the history is loaded.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import text, update

from bench.portfolio import STAKEHOLDERS_PER_MODEL, Size, add_answers, create_schema, finish_load, load_portfolio
from bot.config import Settings
from bot.delivery import MessageRef
from bot.runtime import Runtime, run_tick
from handlers import router
from handlers.actions import ActionId
from handlers.declarations import PortfolioDecl
from handlers.health import refresh_model_health
from storage import checkins as checkin_store
from storage import portfolio as portfolio_store
from storage.db import create_engine, run_in_transaction
from storage.models import CheckIn, Stakeholder

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
PG_ADMIN = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
PG_BENCH = "postgresql+asyncpg://postgres@127.0.0.1:5432/mlpulse_bench"
RESULTS = Path(__file__).with_name("results")


class Sink:
    """A messenger that sends nowhere (the shell sink of the issue, minus the printing)."""

    platform = "bench"
    concurrency = 1

    def __init__(self):
        self.sent = 0

    async def send(self, target, view, thread=None, key=None):
        self.sent += 1
        return MessageRef("bench", "sink", str(self.sent))

    async def find_sent(self, target, thread, key):
        return None

    def share(self, senders):
        pass

    async def update(self, ref, view):
        pass


def pct(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


async def timed(fn, repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        await fn()
        samples.append(time.perf_counter() - start)
    return samples


async def prepare_database(backend: str, tmp: Path) -> str:
    if backend == "sqlite":
        path = tmp / "bench.db"
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        return f"sqlite+aiosqlite:///{path}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    async with admin.connect() as c:
        await c.execute(text("DROP DATABASE IF EXISTS mlpulse_bench WITH (FORCE)"))
        await c.execute(text("CREATE DATABASE mlpulse_bench"))
    await admin.dispose()
    return PG_BENCH


async def refresh_all(runtime: Runtime, size: Size) -> float:
    start = time.perf_counter()
    for first in range(1, size.models + 1, 500):

        async def work(session, first=first):
            for model_id in range(first, min(size.models + 1, first + 500)):
                await refresh_model_health(session, await portfolio_store.get_model(session=session, model_id=model_id), NOW)

        await run_in_transaction(runtime.sessions, work)
    return time.perf_counter() - start


async def bench_backend(backend: str, size: Size, repeat: int, tmp: Path) -> dict:
    url = await prepare_database(backend, tmp)
    engine = create_engine(url)
    runtime = Runtime(Settings(app=PortfolioDecl()), engine, Sink())
    out: dict = {"backend": backend, "size": size.__dict__}
    print(f"\n== {backend}: generating {size.models} models, {size.units} units, {size.people} people, {size.reports} reports", flush=True)
    t = time.perf_counter()
    await create_schema(engine)
    await load_portfolio(engine, size, NOW)
    per_model = max(2, size.answers // size.models)
    small = 2 * size.models
    await add_answers(engine, size, NOW, 0, 2)
    out["load_s"] = round(time.perf_counter() - t, 1)
    out["refresh_all_s_small"] = round(await refresh_all(runtime, size), 1)
    await finish_load(engine)  # statistics as autovacuum would leave them

    lead_id = 1

    async def select_one():
        await runtime.act(lead_id, "bench", _select_one)

    async def status():
        reply = await runtime.act(lead_id, "bench", router.handle_command, "/mlstatus")
        assert "active models" in reply.view.title, reply.view

    await timed(status, 5)  # warm up
    base = await timed(select_one, repeat)
    small_samples = await timed(status, repeat)
    print(f"   loaded {small} answers in {out['load_s']} s; /mlstatus p95 {ms(pct(small_samples, 95))} ms", flush=True)

    t = time.perf_counter()
    added = await add_answers(engine, size, NOW, 2, per_model)
    out["answers"] = small + added
    out["load_more_s"] = round(time.perf_counter() - t, 1)
    out["refresh_all_s_large"] = round(await refresh_all(runtime, size), 1)
    await finish_load(engine)
    await timed(status, 5)
    large_samples = await timed(status, repeat)
    base_after = await timed(select_one, repeat)
    print(f"   loaded {out['answers']} answers in {out['load_more_s']} s; /mlstatus p95 {ms(pct(large_samples, 95))} ms", flush=True)
    out["select1_p50_ms"] = ms(pct(base + base_after, 50))
    out["status_small"] = {"answers": small, "p50_ms": ms(pct(small_samples, 50)), "p95_ms": ms(pct(small_samples, 95))}
    out["status_large"] = {"answers": out["answers"], "p50_ms": ms(pct(large_samples, 50)), "p95_ms": ms(pct(large_samples, 95))}
    out["status_growth_p95"] = round(pct(large_samples, 95) / pct(small_samples, 95), 2)
    out["status_p95_over_select1"] = round(pct(large_samples, 95) / pct(base + base_after, 50), 1)

    idle = await timed(lambda: run_tick(runtime.sessions, runtime.policy, NOW), repeat)
    out["tick_idle"] = {"p50_ms": ms(pct(idle, 50)), "p95_ms": ms(pct(idle, 95))}

    due = min(1000, size.models * STAKEHOLDERS_PER_MODEL)
    async with runtime.sessions() as session:
        links = (await session.exec(Stakeholder.__table__.select().with_only_columns(Stakeholder.model_id, Stakeholder.person_id).limit(due))).all()
        for model_id, person_id in links:
            await session.exec(
                update(Stakeholder).where(Stakeholder.model_id == model_id, Stakeholder.person_id == person_id).values(next_due_at=NOW - timedelta(minutes=1))
            )
        await session.commit()
    start = time.perf_counter()
    result = await runtime.tick(NOW)
    tick_due = time.perf_counter() - start
    assert result.work.created == due and runtime.messenger.sent >= due, (result, runtime.messenger.sent)
    out["tick_due"] = {"due": due, "total_ms": ms(tick_due), "per_checkin_ms": round(ms(tick_due) / due, 3)}
    print(f"   tick: idle p50 {out['tick_idle']['p50_ms']} ms; {due} due in {out['tick_due']['total_ms']} ms", flush=True)

    async with runtime.sessions() as session:
        open_ids = [c.id for c in (await session.exec(CheckIn.__table__.select().where(CheckIn.status == "open").limit(max(repeat, 200)))).all()]
        owners = {c.id: c.person_id for c in (await session.exec(CheckIn.__table__.select().where(CheckIn.id.in_(open_ids)))).all()}
    answer_samples = []
    for checkin_id in open_ids:
        start = time.perf_counter()
        reply = await runtime.act(owners[checkin_id], "bench", router.handle_action, ActionId.CHECKIN_WORKS, str(checkin_id))
        answer_samples.append(time.perf_counter() - start)
        assert "Recorded" in reply.view.text, reply.view
    async with runtime.sessions() as session:
        recorded = await checkin_store.get_checkin(session=session, checkin_id=open_ids[0])
        assert recorded.status == "answered"
    out["answer"] = {"n": len(answer_samples), "p50_ms": ms(pct(answer_samples, 50)), "p99_ms": ms(pct(answer_samples, 99))}
    out["answer_p99_over_select1"] = round(pct(answer_samples, 99) / pct(base + base_after, 50), 1)
    print(f"   answer: p50 {out['answer']['p50_ms']} ms, p99 {out['answer']['p99_ms']} ms", flush=True)
    await runtime.close()
    return out


async def _select_one(session, ctx):
    await session.exec(text("SELECT 1"))


def idle_rss(url: str) -> dict:
    """Peak RSS of an idle bot process (runtime and scheduler started), beside a bare interpreter."""
    root = Path(__file__).parent.parent

    def child(*args: str) -> int:
        return int(subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True, check=True, cwd=root).stdout.split()[-1])

    bare, bot = child("bench.memory"), child("bench.idle", url)
    return {"bot_mib": round(bot / 1024, 1), "bare_python_mib": round(bare / 1024, 1), "ratio": round(bot / bare, 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--quick", action="store_true", help="a small portfolio: 200 models, 20,000 answers")
    parser.add_argument("--repeat", type=int, default=200, help="samples per latency figure")
    args = parser.parse_args()
    size = Size(models=200, units=20, people=2_000, answers=20_000, reports=2_000) if args.quick else Size()
    RESULTS.mkdir(exist_ok=True)
    backends = ("sqlite", "postgres") if args.backend == "both" else (args.backend,)
    results = [asyncio.run(bench_backend(b, size, args.repeat, RESULTS)) for b in backends]
    rss = idle_rss(f"sqlite+aiosqlite:///{RESULTS / 'idle.db'}")
    report = {"when": datetime.now(UTC).isoformat(timespec="seconds"), "cpus": os.cpu_count(), "results": results, "idle_rss": rss}
    (RESULTS / ("quick.json" if args.quick else "latest.json")).write_text(json.dumps(report, indent=2))
    print("\n" + json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
