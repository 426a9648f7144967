"""Test helpers that drive the scheduler's work the way the bot does."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from sqlmodel import select

from handlers.context import Policy
from bot import runtime
from handlers.scheduled import TickReport
from storage.models import CheckIn, OutboundMessage
from tests.conftest import POLICY


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
