"""Slack fixtures: the fake Slack Web API, and a runtime whose messenger talks to it."""

from __future__ import annotations

import aiohttp
import pytest

from bot.clock import ManualClock
from bot.config import Settings
from bot.runtime import Runtime
from bot.server import build_web_app, start_server
from bot.slack.app import build_slack_app
from bot.slack.directory import SlackDirectory
from bot.slack.messenger import SlackMessenger, web_client
from tests import factories as f
from tests.bot.slack.requests import SECRET
from tests.conftest import TUESDAY

TOKEN = "xoxb-test-token"


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
    yield runtime
    await runtime.settle()  # what an interaction left running ends before the database is closed


@pytest.fixture
async def bot(slack_runtime):
    """The real server with the Slack app, on an ephemeral port; yields an HTTP client for it."""
    app = build_slack_app(slack_runtime, slack_runtime.messenger.client, slack_runtime.directory, SECRET)
    runner, port = await start_server(build_web_app(app), "127.0.0.1", 0)
    async with aiohttp.ClientSession(f"http://127.0.0.1:{port}") as http:
        yield http
    await runner.cleanup()
