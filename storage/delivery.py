"""Storage layer: the outbox of messages to send, and where sent messages landed."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.common import dialect, insert_ignoring_conflict
from storage.models import Delivery, Digest, MessageKind, OutboundMessage, Subject

# What a sender works on: messages to send, and sent ones to rewrite in place.
WORK = (Delivery.QUEUED, Delivery.STALE)
# Messages that are out on a platform, current or not.
OUT = (Delivery.SENT, Delivery.STALE)


async def create_messages(*, session: AsyncSession, rows: list[dict[str, Any]]) -> int:
    """Queue messages, skipping any whose key was queued before; return how many are new.

    Each row has `key`, `kind` (a `MessageKind`) and `not_before`, and may have
    `subject_id`, `person_id`, `channel` and `thread_of_id`.
    """
    if not rows:
        return 0
    fields = ("subject_id", "person_id", "channel", "thread_of_id")
    values = [{**dict.fromkeys(fields), **row, "status": Delivery.QUEUED, "attempts": 0, "revision": 0, "created_at": row["not_before"]} for row in rows]
    result = await session.exec(insert_ignoring_conflict(session, OutboundMessage, values, ["key"]).returning(col(OutboundMessage.id)))
    return len(result.all())


async def create_message(*, session: AsyncSession, key: str, kind: MessageKind, not_before: datetime, **fields: Any) -> bool:
    """Queue one message under a unique key; return False if that key was queued before."""
    return await create_messages(session=session, rows=[dict(key=key, kind=kind, not_before=not_before, **fields)]) == 1


async def get_message_by_key(*, session: AsyncSession, key: str) -> OutboundMessage | None:
    """Get a queued or sent message by its key."""
    return (await session.exec(select(OutboundMessage).where(col(OutboundMessage.key) == key))).first()


async def get_message(*, session: AsyncSession, message_id: int) -> OutboundMessage | None:
    """Get a queued or sent message by id."""
    return await session.get(OutboundMessage, message_id)


async def list_messages(*, session: AsyncSession, kind: MessageKind, subject_id: int) -> Sequence[OutboundMessage]:
    """List the messages of one kind about one subject (e.g. every copy of one announcement), oldest first."""
    query = select(OutboundMessage).where(col(OutboundMessage.kind) == kind, col(OutboundMessage.subject_id) == subject_id).order_by(col(OutboundMessage.id))
    return (await session.exec(query)).all()


async def update_live_messages(*, session: AsyncSession, subject: Subject, subject_id: int, at: datetime, shown: tuple[str, str, str] | None = None) -> int:
    """Mark every live message about a subject as behind it: a sent one becomes stale, to be rewritten in place; return how many.

    Each gets a new revision, queued ones too: one being sent right now was rendered
    before this change, and lands stale. A stale one keeps its place (and backoff) in
    the queue, so a burst of changes makes one update. `shown` is the
    (platform, conversation, message) that the interaction making the change rewrites
    itself, which is current already.
    """
    query = update(OutboundMessage).where(
        col(OutboundMessage.kind).in_(MessageKind.showing(subject)),
        col(OutboundMessage.subject_id) == subject_id,
        col(OutboundMessage.status).in_((*WORK, Delivery.SENT)),
    )
    if shown is not None:
        platform, conversation, message = shown
        here = and_(col(OutboundMessage.platform) == platform, col(OutboundMessage.conversation_id) == conversation, col(OutboundMessage.message_id) == message)
        # Only a copy that is current otherwise: one stale or on its way may be showing an older state than this reply.
        query = query.where(or_(col(OutboundMessage.message_id).is_(None), ~here, col(OutboundMessage.status) != Delivery.SENT))
    result = await session.exec(
        query.values(
            revision=col(OutboundMessage.revision) + 1,
            not_before=case((col(OutboundMessage.status) == Delivery.SENT, at), else_=col(OutboundMessage.not_before)),
            status=case((col(OutboundMessage.status) == Delivery.SENT, Delivery.STALE), else_=col(OutboundMessage.status)),
        )
    )
    return result.rowcount


async def claim_messages(*, session: AsyncSession, due_by: datetime, at: datetime, lease: timedelta, limit: int, by: str) -> Sequence[OutboundMessage]:
    """Claim up to `limit` queued or stale messages due by `due_by` for sender `by`, until `at + lease`; nobody else gets them meanwhile.

    Claimers cannot collide: on PostgreSQL the rows are selected FOR UPDATE SKIP LOCKED,
    and on SQLite every transaction begins IMMEDIATE, so one claimer runs at a time.
    Each claim counts as an attempt, so `(claimed_by, attempts)` names one claim.
    """
    free = or_(col(OutboundMessage.claimed_until).is_(None), col(OutboundMessage.claimed_until) <= at)
    query = (
        select(OutboundMessage)
        .where(col(OutboundMessage.status).in_(WORK), col(OutboundMessage.not_before) <= due_by, free)
        .order_by(col(OutboundMessage.not_before), col(OutboundMessage.id))
        .limit(limit)
    )
    if dialect(session) == "postgresql":
        query = query.with_for_update(skip_locked=True)
    claimed = (await session.exec(query)).all()
    if claimed:
        await session.exec(
            update(OutboundMessage)
            .where(col(OutboundMessage.id).in_([m.id for m in claimed]))
            .values(claimed_until=at + lease, claimed_by=by, attempts=col(OutboundMessage.attempts) + 1)
            .execution_options(synchronize_session="fetch")
        )
    return claimed


def _held(by: str) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    return (col(OutboundMessage.claimed_by) == by, col(OutboundMessage.status).in_(WORK))


async def update_claim(*, session: AsyncSession, message_id: int, by: str, attempt: int, until: datetime) -> bool:
    """Renew sender `by`'s claim on one message (the claim of attempt `attempt`) until `until`; return False if it lost it."""
    result = await session.exec(
        update(OutboundMessage).where(col(OutboundMessage.id) == message_id, col(OutboundMessage.attempts) == attempt, *_held(by)).values(claimed_until=until)
    )
    return result.rowcount == 1


async def update_claims(*, session: AsyncSession, message_ids: Sequence[int], by: str, until: datetime) -> int:
    """Renew every claim sender `by` still holds among these messages until `until`; return how many it holds."""
    if not message_ids:
        return 0
    result = await session.exec(update(OutboundMessage).where(col(OutboundMessage.id).in_(message_ids), *_held(by)).values(claimed_until=until))
    return result.rowcount


async def count_senders(*, session: AsyncSession, at: datetime) -> int:
    """Count the senders (bot processes) holding claims at `at`: the replicas delivering right now."""
    query = select(func.count(func.distinct(col(OutboundMessage.claimed_by)))).where(
        col(OutboundMessage.status).in_(WORK), col(OutboundMessage.claimed_until) > at
    )
    return (await session.exec(query)).one()


async def update_message_sent(
    *, session: AsyncSession, message_id: int, platform: str, conversation_id: str, platform_message_id: str, at: datetime, revision: int
) -> None:
    """Record that a message was delivered (or rewritten in place) as of `revision`, and where.

    If its subject changed since that revision was rendered, it is stale at once.
    """
    behind = col(OutboundMessage.revision) != revision
    await session.exec(
        update(OutboundMessage)
        .where(col(OutboundMessage.id) == message_id)
        .values(
            status=case((behind, Delivery.STALE), else_=Delivery.SENT),
            not_before=case((behind, at), else_=col(OutboundMessage.not_before)),
            platform=platform,
            conversation_id=conversation_id,
            message_id=platform_message_id,
            sent_at=func.coalesce(col(OutboundMessage.sent_at), at),
            claimed_until=None,
            claimed_by=None,
            attempts=0,  # a live message is claimed again at each change: each update gets the full retries
            last_error=None,
        )
    )


async def update_message_status(
    *,
    session: AsyncSession,
    message_id: int,
    status: Delivery,
    error: str | None = None,
    not_before: datetime | None = None,
    by: str | None = None,
    attempt: int | None = None,
) -> None:
    """Move a message to `status` (queued again for a retry, skipped, failed), releasing its claim.

    With `by` and `attempt`, only while that claim still holds: a sender that lost its
    claim must not undo what the new holder does.
    """
    values: dict[str, Any] = dict(status=status, claimed_until=None, claimed_by=None, last_error=error)
    if status == Delivery.SENT:  # an update given up on: the message is out, and its next update starts afresh
        values["attempts"] = 0
    if not_before is not None:
        values["not_before"] = not_before
    query = update(OutboundMessage).where(col(OutboundMessage.id) == message_id)
    if by is not None:
        query = query.where(col(OutboundMessage.claimed_by) == by, col(OutboundMessage.attempts) == attempt)
    await session.exec(query.values(**values))


async def get_next_message_at(*, session: AsyncSession) -> datetime | None:
    """Return when the next queued message may be sent."""
    return (await session.exec(select(func.min(col(OutboundMessage.not_before))).where(col(OutboundMessage.status).in_(WORK)))).one()


async def list_due_messages(*, session: AsyncSession, now: datetime, limit: int) -> Sequence[OutboundMessage]:
    """List queued and stale messages that are due, oldest first, without claiming them."""
    query = (
        select(OutboundMessage)
        .where(col(OutboundMessage.status).in_(WORK), col(OutboundMessage.not_before) <= now)
        .order_by(col(OutboundMessage.not_before), col(OutboundMessage.id))
        .limit(limit)
    )
    return (await session.exec(query)).all()


async def create_digest(*, session: AsyncSession, channel: str, week_key: str, covers_until: datetime, now: datetime) -> int | None:
    """Claim a channel's digest for a week; return its id, or None when it was claimed before."""
    values = dict(channel=channel, week_key=week_key, covers_until=covers_until, status="claimed", created_at=now)
    row = (await session.exec(insert_ignoring_conflict(session, Digest, values, ["channel", "week_key"]).returning(col(Digest.id)))).first()
    return row[0] if row else None


async def get_digest(*, session: AsyncSession, digest_id: int) -> Digest | None:
    """Get a digest claim by id."""
    return await session.get(Digest, digest_id)
