"""A fan-out that outlasts its lease, with interactions and a second replica joining mid-way: every message exactly once."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

import pytest

from bot.clock import SystemClock
from bot.config import Settings
from bot.runtime import Runtime
from bot.slack.directory import SlackDirectory
from bot.slack.messenger import SlackMessenger, web_client
from storage.db import session_factory
from tests import factories as f
from tests.conftest import TUESDAY
from tests.fakes.slack import FakeSlack, start_fake_slack
from tests.helpers import outbox, run_tick

PEOPLE, MODELS = 70, 4  # 280 check-ins: more than one claimed batch of 200
LEASE = timedelta(seconds=0.6)
POST_SECONDS = 0.015  # about 4 s of posting for the whole fan-out: the lease runs out several times over


def many_people():
    keys = [f"p{i:02d}" for i in range(PEOPLE)]
    people = [{"key": k, "name": k.upper(), "email": f"{k}@example.com", "slack": f"U{k.upper()}"} for k in keys]
    models = [{"key": f"m{j}", "name": f"Model {j}", "unit": "Sales", "owner": keys[0], "stakeholders": keys} for j in range(MODELS)]
    return f.decl(people=people, units=["Sales"], models=models, leads=[keys[0]])


@pytest.fixture
async def slow_slack():
    fake = FakeSlack(retry_after=0, delays={"chat.postMessage": POST_SECONDS})  # a slow platform
    for i in range(PEOPLE):
        fake.add_user(f"UP{i:02d}", f"p{i:02d}@example.com", f"P{i:02d}")
    runner = await start_fake_slack(fake)
    yield fake
    await runner.cleanup()


def replica(engine, fake: FakeSlack) -> Runtime:
    """A bot process on Slack: its own engine (connection pool), client and messenger; the real clock; a short lease."""
    runtime = Runtime(Settings(app=many_people()), engine, None, SystemClock())
    runtime.sessions = session_factory(engine)
    runtime.policy = f.POLICY
    client = web_client("xoxb-test-token", fake.url)
    runtime.messenger = SlackMessenger(client, SlackDirectory(runtime, client), per_minute=600_000)
    runtime.lease = LEASE
    return runtime


async def test_a_fan_out_longer_than_its_lease_sends_each_message_once_with_a_replica_and_interactions_joining(shared_engines, slow_slack):
    first_engine, second_engine = shared_engines
    sessions = session_factory(first_engine)
    async with sessions() as session:
        await f.sync(session, many_people())
    await run_tick(sessions, TUESDAY)
    queued = len(await outbox(sessions, "checkin.ask"))
    assert queued == PEOPLE * MODELS

    first, second = replica(first_engine, slow_slack), replica(second_engine, slow_slack)
    fan_out = asyncio.create_task(first.deliver())
    await asyncio.sleep(1.5)  # the first batch's lease has run out twice by now
    # An interaction on the first replica asks it to deliver; a second replica starts its tick.
    joined = await asyncio.wait_for(asyncio.gather(first.deliver(), first.deliver(), second.deliver()), 60)
    await asyncio.wait_for(fan_out, 60)
    await first.deliver()  # whatever is left (nothing, if all went well)

    posted = Counter(body["metadata"]["event_payload"]["key"] for body in slow_slack.messages.values())
    assert sum(posted.values()) == queued, "every check-in reached Slack"
    assert [key for key, n in posted.items() if n > 1] == [], "no check-in reached Slack twice"
    rows = await outbox(sessions, "checkin.ask")
    assert Counter(m.status for m in rows) == Counter({"sent": queued})
    assert {m.key for m in rows} == set(posted)
    assert joined[2].sent > 0, "the second replica took part of the work"
    assert fan_out.result().sent + joined[2].sent == queued
