"""Slack benchmarks: interaction latency in HTTP mode, and rate-limited fan-out.

    python -m bench.slack                 # both, on SQLite
    python -m bench.slack --quick         # smaller, for a smoke run

Interaction latency: signed `block_actions` answering check-ins on the large
portfolio, timed to the HTTP response, beside a bare bolt AsyncApp that only acks,
served the same way in the same run.

Fan-out: 2,000 due check-ins through the fake Slack, which allows one message per
second per channel and a workspace ceiling for chat.postMessage (600 a minute,
scaled here by --scale to keep the run short), answering 429 with Retry-After
beyond that. Reported: achieved rate against the ceiling, and after a kill in the
middle and a restart, how many messages Slack holds and how many are duplicates.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_sdk.signature import SignatureVerifier
from sqlalchemy import insert, update

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
from storage.db import create_engine
from storage.models import PlatformIdentity, Stakeholder
from tests.fakes.slack import FakeSlack, start_fake_slack

SECRET = "bench-signing-secret"
# Slack stamps messages with the real time, so this benchmark runs on it too.
NOW = datetime.now(timezone.utc).replace(microsecond=0)
TOKEN = "xoxb-test-token"


def slack_id(person_id: int) -> str:
    return f"U{person_id:07d}"


async def build(size: Size, path: Path, fake: FakeSlack, per_minute: int, answers: int):
    """A portfolio whose every person has a Slack identity the fake knows, and a runtime on Slack."""
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    await create_schema(engine)
    await load_portfolio(engine, size, NOW)
    if answers:
        await add_answers(engine, size, NOW, 0, max(1, answers // size.models))
    async with engine.begin() as c:
        await c.execute(insert(PlatformIdentity), [dict(person_id=p, platform="slack", external_id=slack_id(p)) for p in range(1, size.people + 1)])
    await finish_load(engine)
    for p in range(1, size.people + 1):
        fake.add_user(slack_id(p), f"p{p}@example.com", f"Person {p}")
    client = web_client(TOKEN, fake.url)
    runtime = Runtime(Settings(app=PortfolioDecl()), engine, None, ManualClock(NOW))
    runtime.directory = SlackDirectory(runtime, client)
    runtime.messenger = SlackMessenger(client, runtime.directory, per_minute=per_minute)
    return runtime


async def make_due(runtime: Runtime, size: Size, count: int) -> None:
    """Make `count` stakeholder links due now, each for a different person where possible."""
    async with runtime.engine.begin() as c:
        for model in range(count // 4 + 1):
            for person in stakeholders_of(model, size)[: min(4, count - model * 4)]:
                await c.execute(update(Stakeholder).where(Stakeholder.model_id == model + 1, Stakeholder.person_id == person).values(next_due_at=NOW - timedelta(minutes=1)))


def signed(body: str) -> dict:
    stamp = str(int(time.time()))
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": SignatureVerifier(SECRET).generate_signature(timestamp=stamp, body=body),
            "Content-Type": "application/x-www-form-urlencoded"}


async def interaction_latency(size: Size, presses: int) -> dict:
    fake = FakeSlack(retry_after=0)
    runner = await start_fake_slack(fake)
    runtime = await build(size, RESULTS / "slack-latency.db", fake, 100_000, size.answers)
    await make_due(runtime, size, presses)
    await runtime.tick(NOW)
    posts = [(c.body, c.response) for c in fake.calls if c.method == "chat.postMessage" and c.response.get("ok")]
    assert len(posts) >= presses, len(posts)

    app = build_slack_app(runtime, runtime.messenger.client, runtime.directory, SECRET)
    bare = AsyncApp(client=runtime.messenger.client, signing_secret=SECRET, raise_error_for_unhandled_request=False)

    @bare.action("checkin.works#0")
    async def only_ack(ack):
        await ack()

    servers = [await start_server(build_web_app(a), "127.0.0.1", 0) for a in (app, bare)]
    results = {}
    async with aiohttp.ClientSession() as http:
        for name, (_, port) in zip(("mlpulse", "bare"), servers):
            samples, ends = [], []
            for i, (body, response) in enumerate(posts[:presses]):
                button = body["blocks"][2]["elements"][0]
                payload = {"type": "block_actions", "user": {"id": body["channel"]}, "trigger_id": "t",
                           "container": {"type": "message", "channel_id": response["channel"], "message_ts": response["ts"]},
                           "actions": [{"action_id": button["action_id"], "value": button["value"], "action_ts": f"{name}.{i}"}]}
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


async def fan_out(count: int, scale: int, kill_after: int | None, where: Path = RESULTS) -> dict:
    ceiling = 600 * scale
    fake = FakeSlack(retry_after=1, ceiling_per_minute=ceiling, one_per_second_per_channel=True)
    runner = await start_fake_slack(fake)
    size = Size(models=count // 4 + 1, units=10, people=count * 2 + 10, answers=0, reports=0)
    runtime = await build(size, where / "slack-fanout.db", fake, ceiling, 0)
    await make_due(runtime, size, count)
    start = time.perf_counter()
    if kill_after is None:
        await runtime.tick(NOW)
        elapsed = time.perf_counter() - start
    else:
        task = asyncio.create_task(runtime.tick(NOW))
        while len(fake.ok("chat.postMessage")) < kill_after:
            await asyncio.sleep(0.005)
        task.cancel()  # the process dies mid-way: nothing after this line of its work happens
        try:
            await task
        except asyncio.CancelledError:
            pass
        client = web_client(TOKEN, fake.url)
        restarted = Runtime(Settings(app=PortfolioDecl()), runtime.engine, None, ManualClock(NOW + LEASE + timedelta(seconds=1)))
        restarted.directory = SlackDirectory(restarted, client)
        restarted.messenger = SlackMessenger(client, restarted.directory, per_minute=ceiling)
        await restarted.tick(NOW + LEASE + timedelta(seconds=1))
        elapsed = time.perf_counter() - start
    posts = fake.ok("chat.postMessage")
    accepted = [c.at for c in fake.calls if c.method == "chat.postMessage" and c.response.get("ok")]
    sending = accepted[-1] - accepted[0]
    keys = Counter(p["metadata"]["event_payload"]["key"] for p in posts)
    refused = sum(1 for c in fake.calls if c.status == 429)
    out = {
        "count": count,
        "ceiling_per_minute": ceiling,
        "seconds_whole_tick": round(elapsed, 1),
        "seconds_sending": round(sending, 1),
        "achieved_per_minute": round((len(posts) - 1) / sending * 60),
        "achieved_over_ceiling": round((len(posts) - 1) / sending * 60 / ceiling, 3),
        **await platform.delivery_figures(runtime.engine, count, accepted, keys, refused, kill_after, "slack"),
    }
    await runtime.close()
    await runner.cleanup()
    return out


def main() -> int:
    return platform.main("slack", __doc__, interaction_latency, fan_out, 10, "multiply Slack's 600/minute ceiling by this")


if __name__ == "__main__":
    sys.exit(main())
