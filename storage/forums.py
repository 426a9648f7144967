"""Storage layer: queries about review forums, their sessions, agendas, RSVPs, topics and action items."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, exists, func, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.common import dialect, get_referenced, insert_ignoring_conflict
from storage.models import ActionItem, AgendaItem, BusinessUnit, ForumRSVP, ForumSession, ForumTopic, Person, ReviewForum


async def list_upcoming_sessions(
    *, session: AsyncSession, after: datetime, unit_ids: Sequence[int] | None, limit: int
) -> Sequence[tuple[ForumSession, BusinessUnit]]:
    """List the next scheduled forum sessions with their units, soonest first."""
    query = (
        select(ForumSession, BusinessUnit)
        .join(ReviewForum, col(ReviewForum.id) == ForumSession.forum_id)
        .join(BusinessUnit, col(BusinessUnit.id) == ReviewForum.unit_id)
        .where(col(ForumSession.starts_at) > after, col(ForumSession.status) == "scheduled")
        .order_by(col(ForumSession.starts_at))
        .limit(limit)
    )
    if unit_ids is not None:
        query = query.where(col(ReviewForum.unit_id).in_(unit_ids))
    return (await session.exec(query)).all()


async def get_forum(*, session: AsyncSession, forum_id: int) -> ReviewForum | None:
    """Get a forum series by id."""
    return await session.get(ReviewForum, forum_id)


async def must_get_forum(*, session: AsyncSession, forum_id: int) -> ReviewForum:
    """Get the forum series a session belongs to; raise MissingRow if it is gone."""
    return await get_referenced(session, ReviewForum, forum_id)


async def get_forum_for_unit(*, session: AsyncSession, unit_id: int) -> ReviewForum | None:
    """Get a unit's forum series, active or not."""
    return (await session.exec(select(ReviewForum).where(col(ReviewForum.unit_id) == unit_id))).first()


async def list_forums(*, session: AsyncSession, unit_ids: Sequence[int] | None = None, active_only: bool = True) -> Sequence[tuple[ReviewForum, BusinessUnit]]:
    """List forum series with their units, by unit name."""
    query = select(ReviewForum, BusinessUnit).join(BusinessUnit, col(BusinessUnit.id) == ReviewForum.unit_id).order_by(col(BusinessUnit.name))
    if active_only:
        query = query.where(col(ReviewForum.active))
    if unit_ids is not None:
        query = query.where(col(ReviewForum.unit_id).in_(unit_ids))
    return (await session.exec(query)).all()


async def list_forums_without_next_session(*, session: AsyncSession, now: datetime) -> Sequence[tuple[ReviewForum, BusinessUnit]]:
    """List the active forums with no scheduled session still to come or under way at `now`."""
    upcoming = select(col(ForumSession.id)).where(
        col(ForumSession.forum_id) == ReviewForum.id, col(ForumSession.status) == "scheduled", col(ForumSession.ends_at) > now
    )
    query = select(ReviewForum, BusinessUnit).join(BusinessUnit, col(BusinessUnit.id) == ReviewForum.unit_id).where(col(ReviewForum.active), ~exists(upcoming))
    return (await session.exec(query)).all()


async def create_session(*, session: AsyncSession, forum_id: int, starts_at: datetime, ends_at: datetime, timezone: str) -> None:
    """Add a forum session unless that forum already has one starting then."""
    values = dict(forum_id=forum_id, starts_at=starts_at, ends_at=ends_at, timezone=timezone, status="scheduled")
    await session.exec(insert_ignoring_conflict(session, ForumSession, values, ["forum_id", "starts_at"]))


async def get_session(*, session: AsyncSession, session_id: int, lock: bool = False) -> ForumSession | None:
    """Get a forum session by id, locked for update when asked."""
    return await session.get(ForumSession, session_id, with_for_update=True if lock else None)


async def must_get_session(*, session: AsyncSession, session_id: int) -> ForumSession:
    """Get the forum session an action item or agenda item belongs to; raise MissingRow if it is gone."""
    return await get_referenced(session, ForumSession, session_id)


async def get_next_session(*, session: AsyncSession, forum_id: int, after: datetime) -> ForumSession | None:
    """Get a forum's next scheduled session that has not ended by `after`."""
    query = (
        select(ForumSession)
        .where(col(ForumSession.forum_id) == forum_id, col(ForumSession.status) == "scheduled", col(ForumSession.ends_at) > after)
        .order_by(col(ForumSession.starts_at))
    )
    return (await session.exec(query)).first()


async def get_last_held_session(*, session: AsyncSession, forum_id: int, before: datetime) -> ForumSession | None:
    """Get a forum's most recent held session that started before `before`."""
    query = (
        select(ForumSession)
        .where(col(ForumSession.forum_id) == forum_id, col(ForumSession.status) == "held", col(ForumSession.starts_at) < before)
        .order_by(col(ForumSession.starts_at).desc())
    )
    return (await session.exec(query)).first()


async def list_scheduled_sessions(*, session: AsyncSession) -> Sequence[tuple[ForumSession, ReviewForum, BusinessUnit]]:
    """List every session still scheduled (at most a few per forum), with its forum and unit."""
    query = (
        select(ForumSession, ReviewForum, BusinessUnit)
        .join(ReviewForum, col(ReviewForum.id) == ForumSession.forum_id)
        .join(BusinessUnit, col(BusinessUnit.id) == ReviewForum.unit_id)
        .where(col(ForumSession.status) == "scheduled")
        .order_by(col(ForumSession.starts_at), col(ForumSession.id))
    )
    if dialect(session) == "postgresql":
        # Two replicas ticking at once take turns per session instead of both announcing it.
        query = query.with_for_update(of=ForumSession, skip_locked=True)
    return (await session.exec(query)).all()


async def delete_unannounced_sessions(*, session: AsyncSession, forum_id: int, after: datetime) -> None:
    """Drop a forum's future sessions that nobody has heard of yet (its schedule changed)."""
    await session.exec(
        delete(ForumSession).where(
            col(ForumSession.forum_id) == forum_id,
            col(ForumSession.starts_at) > after,
            col(ForumSession.announced_at).is_(None),
            col(ForumSession.status) == "scheduled",
        )
    )


async def list_cancelled_starts(*, session: AsyncSession, forum_id: int, after: datetime) -> Sequence[datetime]:
    """List when a forum's cancelled sessions after `after` would have started."""
    query = select(col(ForumSession.starts_at)).where(
        col(ForumSession.forum_id) == forum_id, col(ForumSession.status) == "cancelled", col(ForumSession.starts_at) > after
    )
    return (await session.exec(query)).all()


async def list_future_sessions(*, session: AsyncSession, forum_id: int, after: datetime) -> Sequence[ForumSession]:
    """List a forum's scheduled sessions that have not started by `after`."""
    query = select(ForumSession).where(col(ForumSession.forum_id) == forum_id, col(ForumSession.status) == "scheduled", col(ForumSession.starts_at) > after)
    return (await session.exec(query.order_by(col(ForumSession.starts_at)))).all()


async def update_agenda(*, session: AsyncSession, session_id: int, items: Sequence[AgendaItem]) -> None:
    """Replace a session's agenda with `items`."""
    await session.exec(delete(AgendaItem).where(col(AgendaItem.session_id) == session_id))
    session.add_all(items)


async def list_agenda(*, session: AsyncSession, session_id: int) -> Sequence[AgendaItem]:
    """List a session's agenda in order."""
    query = select(AgendaItem).where(col(AgendaItem.session_id) == session_id).order_by(col(AgendaItem.position), col(AgendaItem.id))
    return (await session.exec(query)).all()


async def update_rsvp(*, session: AsyncSession, session_id: int, person_id: int, response: str, at: datetime) -> None:
    """Record a person's answer to a forum invitation, replacing any earlier one."""
    insert = postgresql.insert if dialect(session) == "postgresql" else sqlite.insert
    statement = insert(ForumRSVP).values(session_id=session_id, person_id=person_id, response=response, at=at)
    await session.exec(statement.on_conflict_do_update(index_elements=["session_id", "person_id"], set_=dict(response=response, at=at)))


async def count_rsvps(*, session: AsyncSession, session_id: int) -> dict[str, int]:
    """Count a session's RSVPs by response."""
    query = select(col(ForumRSVP.response), func.count()).where(col(ForumRSVP.session_id) == session_id).group_by(col(ForumRSVP.response))
    return dict((await session.exec(query)).all())


async def get_rsvp(*, session: AsyncSession, session_id: int, person_id: int) -> ForumRSVP | None:
    """Get one person's RSVP to a session."""
    return await session.get(ForumRSVP, (session_id, person_id))


async def create_topic(*, session: AsyncSession, topic: ForumTopic) -> ForumTopic:
    """Add a proposed topic and give it its id."""
    session.add(topic)
    await session.flush()
    return topic


async def list_open_topics(*, session: AsyncSession, unit_id: int, limit: int | None = None) -> Sequence[ForumTopic]:
    """List the topics proposed for a unit that no forum has taken up yet, oldest first."""
    query = (
        select(ForumTopic)
        .where(col(ForumTopic.unit_id) == unit_id, col(ForumTopic.session_id).is_(None))
        .order_by(col(ForumTopic.created_at), col(ForumTopic.id))
    )
    return (await session.exec(query.limit(limit))).all()


async def update_topics_discussed(*, session: AsyncSession, unit_id: int, session_id: int, before: datetime) -> None:
    """Mark the unit's open topics proposed before `before` as taken up by a session."""
    await session.exec(
        update(ForumTopic)
        .where(col(ForumTopic.unit_id) == unit_id, col(ForumTopic.session_id).is_(None), col(ForumTopic.created_at) < before)
        .values(session_id=session_id)
    )


async def create_action_items(*, session: AsyncSession, rows: list[dict[str, Any]]) -> int:
    """Add action items, skipping any the session already has (same owner, same text); return how many are new."""
    if not rows:
        return 0
    return len(
        (await session.exec(insert_ignoring_conflict(session, ActionItem, rows, ["session_id", "owner_id", "text"]).returning(col(ActionItem.id)))).all()
    )


async def get_action_item(*, session: AsyncSession, item_id: int, lock: bool = False) -> ActionItem | None:
    """Get an action item by id, locked for update when asked."""
    return await session.get(ActionItem, item_id, with_for_update=True if lock else None)


async def list_session_action_items(*, session: AsyncSession, session_id: int) -> Sequence[tuple[ActionItem, Person]]:
    """List a session's action items with their owners, in the order they were recorded."""
    query = (
        select(ActionItem, Person)
        .join(Person, col(Person.id) == ActionItem.owner_id)
        .where(col(ActionItem.session_id) == session_id)
        .order_by(col(ActionItem.id))
    )
    return (await session.exec(query)).all()


async def list_open_action_items(*, session: AsyncSession, forum_id: int, before: datetime, limit: int | None = None) -> Sequence[tuple[ActionItem, Person]]:
    """List the unfinished action items of a forum's sessions that started before `before`, oldest due first."""
    query = (
        select(ActionItem, Person)
        .join(Person, col(Person.id) == ActionItem.owner_id)
        .join(ForumSession, col(ForumSession.id) == ActionItem.session_id)
        .where(col(ForumSession.forum_id) == forum_id, col(ForumSession.starts_at) < before, col(ActionItem.done_at).is_(None))
        .order_by(col(ActionItem.due_on).asc().nulls_last(), col(ActionItem.id))
    )
    return (await session.exec(query.limit(limit))).all()


async def list_action_items_to_follow_up(*, session: AsyncSession, now: datetime, limit: int) -> Sequence[tuple[ActionItem, Person]]:
    """List unfinished action items whose owner is due a reminder, with their owners, locking the items."""
    query = (
        select(ActionItem, Person)
        .join(Person, col(Person.id) == ActionItem.owner_id)
        .where(col(ActionItem.done_at).is_(None), col(ActionItem.next_followup_at) <= now)
        .order_by(col(ActionItem.next_followup_at), col(ActionItem.id))
    )
    if dialect(session) == "postgresql":
        query = query.with_for_update(of=ActionItem, skip_locked=True)
    return (await session.exec(query.limit(limit))).all()


async def get_next_followup_at(*, session: AsyncSession) -> datetime | None:
    """Return when the next action-item reminder is due."""
    return (await session.exec(select(func.min(col(ActionItem.next_followup_at))).where(col(ActionItem.done_at).is_(None)))).one()
