"""Test helpers that drive the scheduler's work the way the bot does."""

from __future__ import annotations

from collections import Counter
from contextlib import asynccontextmanager
from datetime import datetime

from sqlmodel import select

from bot import runtime
from handlers import router
from handlers.context import Policy
from handlers.scheduled import TickReport
from handlers.views import Reply
from storage.models import CheckIn, OutboundMessage, Person
from tests import factories as f
from tests.conftest import NOW, POLICY


async def run_tick(sessions, now: datetime, policy: Policy = POLICY, batch: int = 500) -> TickReport:
    """Run a whole tick's work at `now`, the way the bot does."""
    return await runtime.run_tick(sessions, policy, now, batch)


async def checkin_keys(sessions) -> Counter:
    """Count check-ins per (model, person, period): every value must be 1."""
    async with sessions() as session:
        rows = (await session.exec(select(CheckIn.model_id, CheckIn.person_id, CheckIn.period_key))).all()
    return Counter(rows)


async def outbox(sessions, kind: str | None = None) -> list[OutboundMessage]:
    async with sessions() as session:
        query = select(OutboundMessage).order_by(OutboundMessage.id)
        if kind:
            query = query.where(OutboundMessage.kind == kind)
        return list((await session.exec(query)).all())


async def _as(sessions, who: str | Person, work, now: datetime, request_id: str | None, policy: Policy) -> Reply:
    """Run `work(session, ctx)` as a person (a key, or an unsaved Person for a guest) and commit."""
    async with sessions() as session:
        actor = who if isinstance(who, Person) else await f.person(session, who)
        reply = await work(session, f.ctx(actor, now, policy, request_id=request_id))
        await session.commit()
    return reply


async def command(sessions, who: str | Person, text: str, now: datetime = NOW, request_id: str | None = None, policy: Policy = POLICY) -> Reply:
    """Type a command as a person."""
    return await _as(sessions, who, lambda s, c: router.handle_command(s, c, text), now, request_id, policy)


async def act(sessions, who: str | Person, action: str, value, now: datetime = NOW, request_id: str | None = None, policy: Policy = POLICY) -> Reply:
    """Press a button as a person."""
    return await _as(sessions, who, lambda s, c: router.handle_action(s, c, action, str(value)), now, request_id, policy)


async def submit(
    sessions, who: str | Person, form: str, state, values: dict, now: datetime = NOW, request_id: str | None = None, policy: Policy = POLICY
) -> Reply:
    """Submit a form as a person."""
    return await _as(sessions, who, lambda s, c: router.handle_submit(s, c, form, str(state), values), now, request_id, policy)


@asynccontextmanager
async def held(engine):
    """Hold the database from another connection, so that every transaction of the bot waits on it (a database that stopped answering)."""
    async with engine.begin() as connection:  # on SQLite, every transaction begins IMMEDIATE: this one holds the write lock
        if engine.dialect.name == "postgresql":
            await connection.exec_driver_sql("LOCK TABLE person, checkin, outbound_message IN ACCESS EXCLUSIVE MODE")
        yield
