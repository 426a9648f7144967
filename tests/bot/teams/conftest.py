"""Teams fixtures: the fake Bot Connector, and the real server with the Teams app."""

from __future__ import annotations

from dataclasses import replace

import aiohttp
import pytest

from bot.clock import ManualClock
from bot.config import Settings
from bot.delivery import Messengers
from bot.runtime import Runtime
from bot.server import build_web_app, start_server
from bot.teams.app import build_teams
from tests import factories as f
from tests.bot.teams import activities as a
from tests.conftest import TUESDAY
from tests.fakes.connector import FakeConnector, start_fake_connector

PEOPLE = ("ana", "bo", "cy", "owner", "lead")


async def _no_wait(seconds: float) -> None:
    return None


@pytest.fixture
async def connector():
    fake = FakeConnector()
    for key in PEOPLE:
        fake.add_member(a.user(key)["id"], a.user(key)["aadObjectId"], key.title(), f"{key}@example.com")
    fake.channels[a.TEAM] = [{"id": a.TEAM}, {"id": "19:digest@thread.tacv2", "name": "ml-digest"}, {"id": "19:sales@thread.tacv2", "name": "sales-ml"}]
    runner = await start_fake_connector(fake)
    yield fake
    await runner.cleanup()


@pytest.fixture
def engine(shared_engines):
    """A database that concurrent requests can share (a file, not SQLite's in-memory connection)."""
    return shared_engines[0]


@pytest.fixture
async def teams(engine, sessions):
    """The Teams pieces on a runtime at TUESDAY, with the small portfolio and no app id (emulator mode)."""
    async with sessions() as session:
        await f.sync(session, f.small_portfolio())
    settings = Settings(app=f.small_portfolio(), teams_emulator=True)
    runtime = Runtime(settings, engine, None, ManualClock(TUESDAY))
    runtime.policy = replace(f.POLICY, platforms=("teams",), digest_channel="teams:ml-digest")
    built = build_teams(runtime, settings, per_second=1000, per_conversation=1000, sleep=_no_wait)
    runtime.messenger = Messengers(built.messenger)
    built.runtime = runtime
    yield built
    await runtime.settle()


@pytest.fixture
async def bot(teams, connector):
    """The real server with the Teams app on an ephemeral port; `post` sends it an activity."""
    runner, port = await start_server(build_web_app(None, (teams.adapter, teams.wiring)), "127.0.0.1", 0)
    async with aiohttp.ClientSession(f"http://127.0.0.1:{port}") as http:

        async def post(activity: dict, headers: dict | None = None, settle: bool = True) -> aiohttp.ClientResponse:
            response = await http.post("/api/messages", json=activity, headers=headers)
            await response.read()
            if settle:  # what the turn queued is sent after it, in the background
                await teams.runtime.settle()
            return response

        yield post
    await runner.cleanup()
