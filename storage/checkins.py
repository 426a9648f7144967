"""Storage layer: queries about check-ins and their answers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.common import dialect, insert_ignoring_conflict
from storage.models import CheckIn, CheckInAnswer, MLModel, Person

OPEN_STATES = ("open",)
# An answered check-in has one action left: at the end of its period, its messages lose *Change answer*.
ACTIONABLE = (*OPEN_STATES, "answered")


def checkin_values(
    *,
    model_id: int,
    person_id: int,
    period_key: str,
    due_at: datetime,
    period_ends_at: datetime,
    now: datetime,
    status: str = "open",
    next_action_at: datetime | None = None,
    reassigned_from_id: int | None = None,
) -> dict[str, Any]:
    """Return the row of a new check-in, for `create_checkins`."""
    return dict(
        model_id=model_id,
        person_id=person_id,
        period_key=period_key,
        due_at=due_at,
        period_ends_at=period_ends_at,
        status=status,
        next_action_at=next_action_at,
        reassigned_from_id=reassigned_from_id,
        closed_at=None if status == "open" else now,
        reminders_sent=0,
        snoozes=0,
        created_at=now,
    )


async def create_checkins(*, session: AsyncSession, rows: list[dict[str, Any]]) -> Sequence[tuple[int, int, str]]:
    """Insert check-ins, skipping any whose (model, person, period) exists; return (id, person id, status) of the new ones."""
    if not rows:
        return []
    statement = insert_ignoring_conflict(session, CheckIn, rows, ["model_id", "person_id", "period_key"])
    return (await session.exec(statement.returning(col(CheckIn.id), col(CheckIn.person_id), col(CheckIn.status)))).all()


async def get_checkin(*, session: AsyncSession, checkin_id: int, lock: bool = False) -> CheckIn | None:
    """Get a check-in by id, optionally locking its row until the transaction ends."""
    # with_for_update must be None, not False, for the identity map to be used.
    locking = lock and dialect(session) == "postgresql"
    return await session.get(CheckIn, checkin_id, with_for_update=True if locking else None)


async def list_checkins(*, session: AsyncSession, ids: Sequence[int]) -> Sequence[CheckIn]:
    """List the check-ins with these ids."""
    if not ids:
        return []
    return (await session.exec(select(CheckIn).where(col(CheckIn.id).in_(ids)))).all()


async def list_checkins_needing_action(*, session: AsyncSession, now: datetime, limit: int) -> Sequence[tuple[CheckIn, MLModel, Person]]:
    """List the check-ins whose reminder, snooze, expiry or end of period has come, with their models and recipients, locking them."""
    query = (
        select(CheckIn, MLModel, Person)
        .join(MLModel, col(MLModel.id) == CheckIn.model_id)
        .join(Person, col(Person.id) == CheckIn.person_id)
        .where(col(CheckIn.next_action_at) <= now, col(CheckIn.status).in_(ACTIONABLE))
        .order_by(col(CheckIn.next_action_at))
        .limit(limit)
    )
    if dialect(session) == "postgresql":
        query = query.with_for_update(of=CheckIn, skip_locked=True)
    return (await session.exec(query)).all()


async def get_next_checkin_action_at(*, session: AsyncSession) -> datetime | None:
    """Return when the next reminder, snooze, expiry or end of an answered period is due."""
    query = select(func.min(col(CheckIn.next_action_at))).where(col(CheckIn.status).in_(ACTIONABLE))
    return (await session.exec(query)).one()


async def list_pending_checkins(*, session: AsyncSession, person_id: int) -> Sequence[tuple[CheckIn, MLModel]]:
    """List a person's open check-ins with their models, oldest first."""
    query = (
        select(CheckIn, MLModel)
        .join(MLModel, col(MLModel.id) == CheckIn.model_id)
        .where(col(CheckIn.person_id) == person_id, col(CheckIn.status).in_(OPEN_STATES))
        .order_by(col(CheckIn.due_at), col(CheckIn.id))
    )
    return (await session.exec(query)).all()


async def list_model_checkins(*, session: AsyncSession, model_id: int, limit: int) -> Sequence[tuple[CheckIn, Person]]:
    """List a model's most recent check-ins with their recipients, newest first."""
    query = (
        select(CheckIn, Person)
        .join(Person, col(Person.id) == CheckIn.person_id)
        .where(col(CheckIn.model_id) == model_id)
        .order_by(col(CheckIn.period_key).desc(), col(Person.display_name), col(CheckIn.id))
        .limit(limit)
    )
    return (await session.exec(query)).all()


async def create_answer(*, session: AsyncSession, answer: CheckInAnswer) -> bool:
    """Record an answer unless its idempotency key was seen before; return whether it was new."""
    if answer.idempotency_key is None:
        session.add(answer)
        return True
    values = answer.model_dump(exclude={"id"})
    inserted = await session.exec(insert_ignoring_conflict(session, CheckInAnswer, values, ["idempotency_key"]).returning(col(CheckInAnswer.id)))
    return inserted.scalar_one_or_none() is not None


async def update_cancel_open_checkins(*, session: AsyncSession, model_id: int, now: datetime) -> list[int]:
    """Close a model's open check-ins as cancelled; return their ids."""
    result = await session.exec(
        update(CheckIn)
        .where(col(CheckIn.model_id) == model_id, col(CheckIn.status).in_(OPEN_STATES))
        .values(status="cancelled", next_action_at=None, snoozed_until=None, closed_at=now)
        .returning(col(CheckIn.id))
        .execution_options(synchronize_session="fetch")
    )
    return list(result.scalars())


async def count_closed_checkins(*, session: AsyncSession, since: datetime, until: datetime) -> tuple[int, int]:
    """Count the check-ins that closed in [since, until): (answered, expired without an answer)."""
    answered = func.sum(case((col(CheckIn.status).in_(("answered", "reassigned")), 1), else_=0))
    expired = func.sum(case((col(CheckIn.status) == "expired", 1), else_=0))
    query = select(answered, expired).where(col(CheckIn.closed_at) >= since, col(CheckIn.closed_at) < until)
    got = (await session.exec(query)).one()
    return int(got[0] or 0), int(got[1] or 0)
