"""Slack fixtures: the fake Slack Web API, and a runtime whose messenger talks to it."""

from __future__ import annotations

import pytest

from bot.clock import ManualClock
from bot.config import Settings
from bot.runtime import Runtime
from bot.slack.directory import SlackDirectory
from bot.slack.messenger import SlackMessenger, web_client
from tests import factories as f
from tests.conftest import TUESDAY
from tests.fakes.slack import FakeSlack, start_fake_slack

TOKEN = "xoxb-test-token"


@pytest.fixture
async def fake_slack():
    fake = FakeSlack(retry_after=0)
    for key, tz in (("ana", "Europe/London"), ("bo", "America/New_York"), ("cy", "Asia/Tokyo"), ("owner", "Europe/Berlin"), ("lead", "Europe/London")):
        fake.add_user(f"U{key.upper()}", f"{key}@example.com", key.title(), tz)
    runner = await start_fake_slack(fake)
    yield fake
    await runner.cleanup()


@pytest.fixture
def engine(shared_engines):
    """A database that concurrent requests can share (a file, not SQLite's in-memory connection)."""
    return shared_engines[0]


@pytest.fixture
async def slack_runtime(engine, sessions, fake_slack):
    async with sessions() as session:
        await f.sync(session, f.small_portfolio())
    client = web_client(TOKEN, fake_slack.url)
    runtime = Runtime(Settings(app=f.small_portfolio()), engine, None, ManualClock(TUESDAY))
    runtime.policy = f.POLICY
    runtime.directory = SlackDirectory(runtime, client)
    runtime.messenger = SlackMessenger(client, runtime.directory)
    return runtime
