"""A database that stops answering: an interaction says "try again" within seconds, and nothing it did lands afterwards."""

from __future__ import annotations

import asyncio
import time

import pytest
from sqlalchemy.engine import make_url
from sqlmodel import select

from bot.config import Settings
from bot.runtime import TRY_AGAIN, Runtime
from handlers import router
from handlers.actions import ActionId, FormId
from handlers.views import ReplyMode
from storage.db import create_engine, session_factory
from storage.models import CheckIn, CheckInAnswer, FailureReport
from tests import factories as f
from tests.bot.fakes import RecordingMessenger
from tests.conftest import ON_POSTGRES, TEST_DATABASE_URL, TUESDAY
from tests.fakes.proxy import FreezableProxy
from tests.helpers import held, outbox, run_tick

BUDGET = 1.0


async def answered(sessions, checkin_id: int) -> tuple[str, int]:
    async with sessions() as session:
        checkin = await session.get(CheckIn, checkin_id)
        answers = (await session.exec(select(CheckInAnswer).where(CheckInAnswer.checkin_id == checkin_id))).all()
    return checkin.status, len(answers)


async def setup(sessions, engine) -> tuple[Runtime, int, int]:
    async with sessions() as session:
        await f.sync(session, f.small_portfolio())
        ana = await f.person(session, "ana")
    await run_tick(sessions, TUESDAY)
    checkin_id = next(m.subject_id for m in await outbox(sessions, "checkin.ask") if m.person_id == ana.id)
    runtime = Runtime(Settings(app=f.small_portfolio()), engine, RecordingMessenger())
    runtime.interaction_timeout = BUDGET
    return runtime, ana.id, checkin_id


async def press(runtime: Runtime, person_id: int, checkin_id: int, key: str):
    started = time.monotonic()
    reply = await runtime.act(person_id, "test", router.handle_action, ActionId.CHECKIN_WORKS, str(checkin_id), request_id=key)
    return reply, time.monotonic() - started


async def test_a_press_while_the_database_is_held_says_try_again_in_seconds_and_changes_nothing(shared_engines):
    bot_engine, other = shared_engines
    sessions = session_factory(bot_engine)
    runtime, ana, checkin_id = await setup(sessions, bot_engine)
    async with held(other):
        reply, waited = await press(runtime, ana, checkin_id, "press-1")
        assert (reply.mode, reply.view.text) == (ReplyMode.RETRY, TRY_AGAIN)
        assert waited < BUDGET + 2, f"waited {waited:.1f}s for an answer"
    await runtime.settle()  # the abandoned attempt rolls back once the database answers again
    assert await answered(sessions, checkin_id) == ("open", 0)
    reply, _ = await press(runtime, ana, checkin_id, "press-2")  # trying again works
    assert reply.mode == ReplyMode.REPLACE and await answered(sessions, checkin_id) == ("answered", 1)


@pytest.mark.skipif(not ON_POSTGRES, reason="freezing needs a database server: this runs on PostgreSQL (CI does)")
async def test_a_press_while_the_server_is_frozen_says_try_again_in_seconds_and_nothing_lands_when_it_thaws(engine):
    sessions = session_factory(engine)
    url = make_url(TEST_DATABASE_URL)
    proxy = await FreezableProxy(url.host or "127.0.0.1", url.port or 5432).start()
    through = create_engine(url.set(drivername="postgresql+asyncpg", host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False))
    try:
        runtime, ana, checkin_id = await setup(sessions, through)
        await press(runtime, ana, 0, "warm-up")  # a pooled connection through the proxy, as a running bot has
        proxy.freeze()  # as SIGSTOP does: connections stay open, and nothing answers
        reply, waited = await press(runtime, ana, checkin_id, "press-1")
        assert (reply.mode, reply.view.text) == (ReplyMode.RETRY, TRY_AGAIN)
        assert waited < BUDGET + 2, f"waited {waited:.1f}s for an answer"
        proxy.thaw()
        await runtime.settle()  # what was in flight reaches the server now, and rolls back
        assert await answered(sessions, checkin_id) == ("open", 0)
        reply, _ = await press(runtime, ana, checkin_id, "press-2")
        assert reply.mode == ReplyMode.REPLACE and await answered(sessions, checkin_id) == ("answered", 1)
    finally:
        await through.dispose()
        await proxy.stop()


async def test_a_duplicate_submission_that_loses_the_race_is_answered_as_the_original(shared_engines):
    first, second = shared_engines
    sessions = session_factory(first)
    runtime, ana, _ = await setup(sessions, first)
    twin = Runtime(Settings(app=f.small_portfolio()), second, RecordingMessenger())
    values = {"model": "churn", "what_happened": "Every score is 0.5.", "impact": "major"}
    # The same submission delivered twice at once (a platform's retry), to two replicas.
    for attempt in range(5):  # each round is a fresh race; on PostgreSQL both usually insert, and one loses
        replies = await asyncio.gather(
            *(r.act(ana, "test", router.handle_submit, FormId.REPORT, "{}", values, request_id=f"same-{attempt}") for r in (runtime, twin))
        )
        assert [r.view.title for r in replies] == ["Report filed", "Report filed"], [r.view.text for r in replies]
        assert replies[0].view.text == replies[1].view.text  # one receipt code, told to both
    async with sessions() as session:
        assert len((await session.exec(select(FailureReport))).all()) == 5
