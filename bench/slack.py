"""Slack benchmarks: interaction latency in HTTP mode, and rate-limited fan-out.

    python -m bench.slack                 # all of it, on SQLite
    python -m bench.slack --quick         # smaller, for a smoke run
    python -m bench.slack --postgres postgresql://postgres@127.0.0.1:5432/mlpulse_bench_slack
                                          # the two-replica fan-outs on PostgreSQL too

Interaction latency: signed `block_actions` answering check-ins on the large
portfolio, timed to the HTTP response, beside a bare bolt AsyncApp that only acks,
served the same way in the same run.

Fan-out: 2,000 due check-ins through the fake Slack, which allows one message per
second per channel and a workspace ceiling for chat.postMessage (600 a minute,
scaled here by --scale to keep the run short), answering 429 with Retry-After
beyond that. Reported: achieved rate against the ceiling, and after a kill in the
middle and a restart, how many messages Slack holds and how many are duplicates.

Two replicas: the same fan-out by two bot processes at once (each with its own
engine, Web API client and messenger, on one database) against one ceiling, once
sharing the ceiling and once with sharing switched off, in the same run.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import Counter
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_sdk.signature import SignatureVerifier
from sqlalchemy import insert, text, update
from sqlalchemy.engine import make_url

import bot.delivery
from bench import platform
from bench.portfolio import Size, add_answers, create_schema, finish_load, load_portfolio, stakeholders_of
from bench.run import RESULTS, ms, pct
from bot.clock import ManualClock
from bot.config import Settings
from bot.delivery import LEASE
from bot.runtime import Runtime
from bot.server import build_web_app, start_server
from bot.slack.app import build_slack_app
from bot.slack.directory import SlackDirectory
from bot.slack.messenger import SlackMessenger, web_client
from handlers.declarations import PortfolioDecl
from storage.db import create_engine, normalize_url
from storage.models import PlatformIdentity, Stakeholder
from tests.fakes.slack import FakeSlack, start_fake_slack

SECRET = "bench-signing-secret"
# Slack stamps messages with the real time, so this benchmark runs on it too.
NOW = datetime.now(UTC).replace(microsecond=0)
TOKEN = "xoxb-test-token"


def slack_id(person_id: int) -> str:
    return f"U{person_id:07d}"


async def fresh_database(database: Path | str) -> str:
    """Return the URL of an empty database: a new SQLite file at a path, or a PostgreSQL database at a URL (dropped and created again)."""
    if isinstance(database, Path):
        for suffix in ("", "-wal", "-shm"):
            Path(str(database) + suffix).unlink(missing_ok=True)
        return f"sqlite+aiosqlite:///{database}"
    url = make_url(normalize_url(database))
    admin = create_engine(url.set(database="postgres").render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
    async with admin.connect() as c:
        await c.execute(text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
        await c.execute(text(f'CREATE DATABASE "{url.database}"'))
    await admin.dispose()
    return url.render_as_string(hide_password=False)


async def build(size: Size, database: Path | str, fake: FakeSlack, per_minute: int, answers: int):
    """A portfolio whose every person has a Slack identity the fake knows, and a runtime on Slack."""
    engine = create_engine(await fresh_database(database))
    await create_schema(engine)
    await load_portfolio(engine, size, NOW)
    if answers:
        await add_answers(engine, size, NOW, 0, max(1, answers // size.models))
    async with engine.begin() as c:
        await c.execute(insert(PlatformIdentity), [dict(person_id=p, platform="slack", external_id=slack_id(p)) for p in range(1, size.people + 1)])
    await finish_load(engine)
    for p in range(1, size.people + 1):
        fake.add_user(slack_id(p), f"p{p}@example.com", f"Person {p}")
    return process(engine, fake, per_minute, NOW)


def process(engine, fake: FakeSlack, per_minute: int, now: datetime) -> Runtime:
    """A bot process on `engine` (a fresh one after a kill, or a second replica): runtime, Web API client, directory and messenger."""
    client = web_client(TOKEN, fake.url)
    runtime = Runtime(Settings(app=PortfolioDecl()), engine, None, ManualClock(now))
    runtime.directory = SlackDirectory(runtime, client)
    runtime.messenger = SlackMessenger(client, runtime.directory, per_minute=per_minute)
    return runtime


async def make_due(runtime: Runtime, size: Size, count: int) -> None:
    """Make `count` stakeholder links due now, each for a different person where possible."""
    async with runtime.engine.begin() as c:
        for model in range(count // 4 + 1):
            for person in stakeholders_of(model, size)[: min(4, count - model * 4)]:
                await c.execute(
                    update(Stakeholder).where(Stakeholder.model_id == model + 1, Stakeholder.person_id == person).values(next_due_at=NOW - timedelta(minutes=1))
                )


def signed(body: str) -> dict:
    stamp = str(int(time.time()))
    return {
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": SignatureVerifier(SECRET).generate_signature(timestamp=stamp, body=body),
        "Content-Type": "application/x-www-form-urlencoded",
    }


async def interaction_latency(size: Size, presses: int) -> dict:
    fake = FakeSlack(retry_after=0)
    runner = await start_fake_slack(fake)
    runtime = await build(size, RESULTS / "slack-latency.db", fake, 100_000, size.answers)
    # Twice as many as pressed: a link whose period already has an answered check-in gets
    # none, and the tick also posts owner alerts; only check-in questions are pressed.
    await make_due(runtime, size, 2 * presses)
    await runtime.tick(NOW)
    posts = [
        (c.body, c.response)
        for c in fake.calls
        if c.method == "chat.postMessage" and c.response.get("ok") and c.body["metadata"]["event_payload"]["key"].endswith(":ask")
    ]
    assert len(posts) >= presses, len(posts)

    app = build_slack_app(runtime, runtime.messenger.client, runtime.directory, SECRET)
    bare = AsyncApp(client=runtime.messenger.client, signing_secret=SECRET, raise_error_for_unhandled_request=False)

    @bare.action("checkin.works#0")
    async def only_ack(ack):
        await ack()

    servers = [await start_server(build_web_app(a), "127.0.0.1", 0) for a in (app, bare)]
    results = {}
    async with aiohttp.ClientSession() as http:
        for name, (_, port) in zip(("mlpulse", "bare"), servers, strict=True):
            samples, ends = [], []
            for i, (body, response) in enumerate(posts[:presses]):
                button = body["blocks"][2]["elements"][0]
                payload = {
                    "type": "block_actions",
                    "user": {"id": body["channel"]},
                    "trigger_id": "t",
                    "container": {"type": "message", "channel_id": response["channel"], "message_ts": response["ts"]},
                    "actions": [{"action_id": button["action_id"], "value": button["value"], "action_ts": f"{name}.{i}"}],
                }
                data = urlencode({"payload": json.dumps(payload)})
                updates = len(fake.ok("chat.update"))
                start = time.perf_counter()
                async with http.post(f"http://127.0.0.1:{port}/slack/events", data=data, headers=signed(data)) as reply:
                    assert reply.status == 200
                samples.append(time.perf_counter() - start)
                if name == "mlpulse":  # let the work after the ack finish before the next press
                    while len(fake.ok("chat.update")) == updates:
                        await asyncio.sleep(0.001)
                    ends.append(time.perf_counter() - start)
            results[name] = {"p50_ms": ms(pct(samples, 50)), "p99_ms": ms(pct(samples, 99))}
            if ends:
                results[name]["until_message_updated_p50_ms"] = ms(pct(ends, 50))
                results[name]["until_message_updated_p99_ms"] = ms(pct(ends, 99))
    results["added_p99_ms"] = round(results["mlpulse"]["p99_ms"] - results["bare"]["p99_ms"], 2)
    for server, _ in servers:
        await server.cleanup()
    await runtime.close()
    await runner.cleanup()
    return results


@contextmanager
def timing_claim_checks():
    """Time each claim re-check, the small transaction delivery runs just before every post; yield the durations."""
    # Delivery has no hook for this, so the one function that does it is wrapped, for the run only.
    durations: list[float] = []
    original = bot.delivery._still_mine

    async def timed(run, message) -> bool:
        start = time.perf_counter()
        try:
            return await original(run, message)
        finally:
            durations.append(time.perf_counter() - start)

    bot.delivery._still_mine = timed
    try:
        yield durations
    finally:
        bot.delivery._still_mine = original


def claim_check_figures(durations: list[float]) -> dict:
    """Return how many claim re-checks ran, their p50 and p99, and the time they took in all."""
    return {
        "claim_checks": len(durations),
        "claim_check_p50_ms": ms(pct(durations, 50)),
        "claim_check_p99_ms": ms(pct(durations, 99)),
        "claim_checks_total_s": round(sum(durations), 2),
    }


def sending_figures(fake: FakeSlack, count: int, ceiling: int) -> tuple[dict, list[float], Counter, int]:
    """Return the rate Slack accepted posts at while sending, and what `platform.delivery_figures` needs."""
    accepted = [c.at for c in fake.calls if c.method == "chat.postMessage" and c.response.get("ok")]
    sending = accepted[-1] - accepted[0]
    keys = Counter(p["metadata"]["event_payload"]["key"] for p in fake.ok("chat.postMessage"))
    refused = sum(1 for c in fake.calls if c.status == 429)
    rate = {
        "count": count,
        "ceiling_per_minute": ceiling,
        "seconds_sending": round(sending, 1),
        "achieved_per_minute": round((len(accepted) - 1) / sending * 60),
        "achieved_over_ceiling": round((len(accepted) - 1) / sending * 60 / ceiling, 3),
    }
    return rate, accepted, keys, refused


async def fan_out(count: int, scale: int, kill_after: int | None, where: Path = RESULTS) -> dict:
    ceiling = 600 * scale
    fake = FakeSlack(retry_after=1, ceiling_per_minute=ceiling, one_per_second_per_channel=True)
    runner = await start_fake_slack(fake)
    size = Size(models=count // 4 + 1, units=10, people=count * 2 + 10, answers=0, reports=0)
    runtime = await build(size, where / "slack-fanout.db", fake, ceiling, 0)
    await make_due(runtime, size, count)
    start = time.perf_counter()
    with timing_claim_checks() as durations:
        if kill_after is None:
            await runtime.tick(NOW)
        else:
            task = asyncio.create_task(runtime.tick(NOW))
            while len(fake.ok("chat.postMessage")) < kill_after:
                await asyncio.sleep(0.005)
            task.cancel()  # the process dies mid-way: nothing after this line of its work happens
            try:
                await task
            except asyncio.CancelledError:
                pass
            later = NOW + LEASE + timedelta(seconds=1)
            await process(runtime.engine, fake, ceiling, later).tick(later)
    elapsed = time.perf_counter() - start
    rate, accepted, keys, refused = sending_figures(fake, count, ceiling)
    out = {
        **rate,
        "seconds_whole_tick": round(elapsed, 1),
        **await platform.delivery_figures(runtime.engine, count, accepted, keys, refused, kill_after, "slack"),
        **claim_check_figures(durations),
    }
    await runtime.close()
    await runner.cleanup()
    return out


def watch_share(messenger: SlackMessenger, shared: bool, told: list[tuple[float, int]], start: float) -> None:
    """Record what delivery tells a messenger about the senders sharing the ceiling; pass it on only when `shared`."""
    original = messenger.share

    def share(senders: int) -> None:
        told.append((round(time.perf_counter() - start, 1), senders))
        if shared:
            original(senders)

    messenger.share = share


async def fan_out_two_replicas(count: int, scale: int, shared: bool = True, database: Path | str | None = None, where: Path = RESULTS) -> dict:
    """Fan out `count` check-ins by two bot processes at once, against one Slack ceiling, sharing it or (`shared=False`) each pacing at all of it."""
    ceiling = 600 * scale
    fake = FakeSlack(retry_after=1, ceiling_per_minute=ceiling, one_per_second_per_channel=True)
    runner = await start_fake_slack(fake)
    size = Size(models=count // 4 + 1, units=10, people=count * 2 + 10, answers=0, reports=0)
    first = await build(size, database or where / "slack-replicas.db", fake, ceiling, 0)
    # The second replica: its own engine (its own connections) on the same database, its
    # own client and messenger. Both clocks are manual and read NOW, so claims taken by
    # either are timed alike and neither replica's lease runs out while the other looks.
    second = process(create_engine(first.engine.url.render_as_string(hide_password=False)), fake, ceiling, NOW)
    await make_due(first, size, count)
    start = time.perf_counter()
    # One tick queues the check-ins, then both replicas deliver at once. Were both to
    # tick, the one whose tick found nothing yet would be done before there was anything
    # to send (on PostgreSQL the second replica sent nothing at all), and only one
    # replica would be measured.
    created = (await first.tick(NOW, deliver=False)).work.created
    sending_from = time.perf_counter()
    told: tuple[list, list] = ([], [])
    for replica, heard in zip((first, second), told, strict=True):
        watch_share(replica.messenger, shared, heard, sending_from)
    with timing_claim_checks() as durations:
        reports = await asyncio.gather(first.deliver(NOW), second.deliver(NOW))
    elapsed = time.perf_counter() - start
    rate, accepted, keys, refused = sending_figures(fake, count, ceiling)
    out = {
        "backend": first.engine.dialect.name,
        "shared": shared,
        **rate,
        "seconds_whole_tick": round(elapsed, 1),
        "created": created,
        **await platform.delivery_figures(first.engine, count, accepted, keys, refused, None, "slack"),
        # What each replica did, and when delivery first told it that two senders share the ceiling.
        "replicas": [
            {
                "sent": report.sent,
                "failed": report.failed,
                "lost_claims": report.lost,
                "told_senders": len(heard),
                "first_told_two_after_s": next((at for at, senders in heard if senders >= 2), None),
            }
            for report, heard in zip(reports, told, strict=True)
        ],
        **claim_check_figures(durations),
    }
    for replica in (first, second):
        await replica.close()
    await runner.cleanup()
    return out


async def two_replicas(count: int, scale: int, postgres: str | None = None) -> dict:
    """Run the two-replica fan-out sharing the ceiling and, as the baseline, not sharing it, on SQLite (and PostgreSQL if given)."""
    out = {}
    for suffix, database in (("", None), ("_postgres", postgres)):
        if suffix and not database:
            continue
        runs = {shared: await fan_out_two_replicas(count, scale, shared, database) for shared in (True, False)}
        out[f"fan_out_two_replicas{suffix}"] = runs[True]
        out[f"fan_out_two_replicas_unshared{suffix}"] = runs[False]
        out[f"two_replicas_shared_over_unshared{suffix}"] = {
            "refused_429": round(runs[True]["refused_429"] / runs[False]["refused_429"], 3) if runs[False]["refused_429"] else None,
            "achieved_over_ceiling": round(runs[True]["achieved_over_ceiling"] / runs[False]["achieved_over_ceiling"], 3),
        }
    return out


def main() -> int:
    return platform.main("slack", __doc__, interaction_latency, fan_out, 10, "multiply Slack's 600/minute ceiling by this", two_replicas)


if __name__ == "__main__":
    sys.exit(main())
