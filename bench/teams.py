"""Teams benchmarks: card-submit latency, and proactive fan-out under throttling.

    python -m bench.teams                 # both, on SQLite
    python -m bench.teams --quick         # smaller, for a smoke run

Card-submit latency: `Action.Submit` activities answering check-ins on the large
portfolio, posted to /api/messages and timed to the HTTP response (by which time
the card has been updated in place at the fake connector), beside a bare
botbuilder `ActivityHandler` that only replies, served the same way in the same run.

Fan-out: 2,000 due check-ins through the fake Bot Connector, which allows a ceiling
of calls per second (Teams' 50; --scale multiplies it) and answers
429 with Retry-After beyond it, and also refuses every 100th call with a 429.
Reported: achieved rate against the ceiling, and after a kill in the middle and a
restart, how many messages the connector holds and how many are duplicates.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import aiohttp
from botbuilder.core import ActivityHandler, MessageFactory
from botbuilder.integration.aiohttp import CloudAdapter, ConfigurationBotFrameworkAuthentication
from sqlalchemy import insert

from bench import platform
from bench.portfolio import Size, add_answers, create_schema, finish_load, load_portfolio
from bench.run import RESULTS, ms, pct
from bench.slack import NOW, make_due
from bot.clock import ManualClock
from bot.config import Settings
from bot.delivery import LEASE, Messengers
from bot.runtime import Runtime
from bot.server import build_web_app, start_server
from bot.teams.app import build_teams
from handlers.declarations import PortfolioDecl
from storage.db import create_engine
from storage.models import ConversationReference, PlatformIdentity
from tests.fakes.connector import FakeConnector, start_fake_connector

TEAMS_CEILING = 50  # calls per second per bot, as Teams documents


def reference(person_id: int, service_url: str) -> str:
    return json.dumps(
        {
            "bot": {"id": "28:bench-bot", "name": "mlpulse"},
            "user": {"id": f"29:{person_id}", "aadObjectId": f"aad-{person_id}"},
            "conversation": {"id": f"a:personal-{person_id}", "conversationType": "personal", "tenantId": "t"},
            "channelId": "msteams",
            "serviceUrl": service_url,
        }
    )


async def build(size: Size, path: Path, fake: FakeConnector, answers: int, **messenger):
    """A portfolio whose every person installed the app (an identity and a stored reference), and a runtime on Teams."""
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    await create_schema(engine)
    await load_portfolio(engine, size, NOW)
    if answers:
        await add_answers(engine, size, NOW, 0, max(1, answers // size.models))
    people = range(1, size.people + 1)
    async with engine.begin() as c:
        await c.execute(insert(PlatformIdentity), [dict(person_id=p, platform="teams", external_id=f"aad-{p}") for p in people])
        await c.execute(
            insert(ConversationReference),
            [
                dict(platform="teams", scope="person", scope_id=f"aad-{p}", conversation_id=f"a:personal-{p}", reference=reference(p, fake.url), updated_at=NOW)
                for p in people
            ],
        )
    await finish_load(engine)
    return restart(engine, NOW, **messenger)


def restart(engine, now: datetime, **messenger):
    """A bot process on `engine` (a fresh one after a kill): runtime, Teams wiring and messenger."""
    settings = Settings(app=PortfolioDecl(), teams_emulator=True)
    runtime = Runtime(settings, engine, None, ManualClock(now))
    runtime.teams = build_teams(runtime, settings, **messenger)
    runtime.messenger = Messengers(runtime.teams.messenger)
    return runtime


class Bare(ActivityHandler):
    """The baseline: a bot that only replies."""

    async def on_message_activity(self, turn_context):
        await turn_context.send_activity(MessageFactory.text("ok"))


def first_submit(node) -> dict | None:
    """Return the data of a card's first Action.Submit (a check-in's "Yes, works well")."""
    if isinstance(node, dict):
        if node.get("type") == "Action.Submit":
            return node["data"]
        node = list(node.values())
    if isinstance(node, list):
        return next((found for child in node if (found := first_submit(child)) is not None), None)
    return None


def submit(service_url: str, call, i: int, name: str) -> dict:
    data = first_submit(call.body["attachments"][0]["content"])
    person = call.conversation.removeprefix("a:personal-")
    return {
        "type": "message",
        "id": f"{name}-{i}",
        "channelId": "msteams",
        "serviceUrl": service_url,
        "replyToId": call.activity_id,
        "value": data,
        "from": {"id": f"29:{person}", "aadObjectId": f"aad-{person}"},
        "recipient": {"id": "28:bench-bot"},
        "conversation": {"id": call.conversation, "conversationType": "personal", "tenantId": "t"},
        "channelData": {"tenant": {"id": "t"}},
    }


async def submit_latency(size: Size, presses: int) -> dict:
    fake = FakeConnector(check_cards=False)
    runner = await start_fake_connector(fake)
    runtime = await build(size, RESULTS / "teams-latency.db", fake, size.answers, per_second=100_000, per_conversation=100_000)
    await make_due(runtime, size, presses)
    await runtime.tick(NOW)
    sent = fake.sent("send")
    assert len(sent) >= presses, len(sent)
    bare_adapter = CloudAdapter(ConfigurationBotFrameworkAuthentication(type("Config", (), {"APP_ID": "", "APP_PASSWORD": ""})()))
    servers = [
        await start_server(build_web_app(None, pair), "127.0.0.1", 0) for pair in ((runtime.teams.adapter, runtime.teams.wiring), (bare_adapter, Bare()))
    ]
    results = {}
    async with aiohttp.ClientSession() as http:
        for name, (_, port) in zip(("mlpulse", "bare"), servers, strict=True):
            samples = []
            for i, call in enumerate(sent[:presses]):
                start = time.perf_counter()
                async with http.post(f"http://127.0.0.1:{port}/api/messages", json=submit(fake.url, call, i, name)) as reply:
                    assert reply.status in (200, 201), reply.status
                samples.append(time.perf_counter() - start)
            results[name] = {"p50_ms": ms(pct(samples, 50)), "p99_ms": ms(pct(samples, 99))}
    results["updated_in_place"] = len(fake.sent("update"))
    results["added_p99_ms"] = round(results["mlpulse"]["p99_ms"] - results["bare"]["p99_ms"], 2)
    for server, _ in servers:
        await server.cleanup()
    await runtime.close()
    await runner.cleanup()
    return results


async def fan_out(count: int, scale: int, kill_after: int | None, where: Path = RESULTS, throttle_every: int = 100) -> dict:
    ceiling = TEAMS_CEILING * scale
    fake = FakeConnector(ceiling_per_second=ceiling, retry_after=0.2, throttle_every=throttle_every, check_cards=False)
    runner = await start_fake_connector(fake)
    size = Size(models=count // 4 + 1, units=10, people=count * 2 + 10, answers=0, reports=0)
    pace = dict(per_second=ceiling * 0.8)
    runtime = await build(size, where / "teams-fanout.db", fake, 0, **pace)
    await make_due(runtime, size, count)
    start = time.perf_counter()
    if kill_after is None:
        await runtime.tick(NOW)
    else:
        task = asyncio.create_task(runtime.tick(NOW))
        while len(fake.sent("send")) < kill_after:
            await asyncio.sleep(0.005)
        task.cancel()  # the process dies mid-way: nothing after this line of its work happens
        try:
            await task
        except asyncio.CancelledError:
            pass
        later = NOW + LEASE + timedelta(seconds=1)
        await restart(runtime.engine, later, **pace).tick(later)
    elapsed = time.perf_counter() - start
    accepted = [c.at for c in fake.sent("send")]
    sending = accepted[-1] - accepted[0]
    # Teams carries no outbox key, so a message is known by where it went and what it asks.
    per_message = Counter((c.conversation, c.body["attachments"][0]["content"]["body"][0]["text"]) for c in fake.sent("send"))
    refused = sum(1 for c in fake.calls if c.status == 429)
    out = {
        "count": count,
        "ceiling_per_second": ceiling,
        "seconds_whole_tick": round(elapsed, 1),
        "seconds_sending": round(sending, 1),
        "achieved_per_second": round((len(accepted) - 1) / sending, 1),
        "achieved_over_ceiling": round((len(accepted) - 1) / sending / ceiling, 3),
        **await platform.delivery_figures(runtime.engine, count, accepted, per_message, refused, kill_after, "connector"),
    }
    await runtime.close()
    await runner.cleanup()
    return out


def main() -> int:
    return platform.main("teams", __doc__, submit_latency, fan_out, 1, "multiply Teams' 50 calls/second ceiling by this")


if __name__ == "__main__":
    sys.exit(main())
