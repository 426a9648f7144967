"""Storage layer: where the bot can reach people and channels without being spoken to first.

Teams lets a bot message someone only through a conversation it has seen: the
reference captured when the app was installed for them, or from any message. These
queries keep one reference per (platform, scope, id), the latest one winning.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, distinct, func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from storage.common import upsert
from storage.models import ConversationReference, Delivery, MLModel, OutboundMessage, PlatformIdentity, Stakeholder

PERSON = "person"
CHANNEL = "channel"
# A person's reference is stored under their platform id: this joins it to the person.
_OWN_CHAT = (col(PlatformIdentity.platform) == ConversationReference.platform) & (col(PlatformIdentity.external_id) == ConversationReference.scope_id)


def _with_personal_chat(platform: str) -> SelectOfScalar[int]:
    """Select the ids of the people who have a personal chat with the bot on a platform."""
    return (
        select(col(PlatformIdentity.person_id))
        .join(ConversationReference, _OWN_CHAT)
        .where(col(ConversationReference.platform) == platform, col(ConversationReference.scope) == PERSON)
    )


async def update_reference(
    *, session: AsyncSession, platform: str, scope: str, scope_id: str, conversation_id: str, reference: str, now: datetime, name: str | None = None
) -> bool:
    """Store the latest reference of a person or channel; return True when it was not known before.

    A channel seen under a new name keeps its old one among its former names: app.yaml
    may still say `teams:ml-digest` for the channel now called ml-weekly.
    """
    values = dict(platform=platform, scope=scope, scope_id=scope_id, conversation_id=conversation_id, reference=reference, name=name, updated_at=now)
    changed: dict[str, object] = {"reference": reference, "conversation_id": conversation_id, "updated_at": now, **({"name": name} if name else {})}
    query = select(ConversationReference).where(
        col(ConversationReference.platform) == platform, col(ConversationReference.scope) == scope, col(ConversationReference.scope_id) == scope_id
    )
    known = (await session.exec(query)).first()
    if known is not None and known.name and name and known.name.lower() != name.lower():
        former = [n for n in (known.former_names or "").splitlines() if n and n != name.lower()]
        changed["former_names"] = "\n".join([*former, known.name.lower()])
    await session.exec(upsert(session, ConversationReference, values, ["platform", "scope", "scope_id"], changed))
    return known is None


async def get_reference(*, session: AsyncSession, platform: str, scope: str, scope_id: str) -> str | None:
    """Return the stored reference (JSON) of a person or channel, if any."""
    query = select(col(ConversationReference.reference)).where(
        col(ConversationReference.platform) == platform, col(ConversationReference.scope) == scope, col(ConversationReference.scope_id) == scope_id
    )
    return (await session.exec(query)).first()


async def get_reference_by_conversation(*, session: AsyncSession, platform: str, conversation_id: str) -> str | None:
    """Return a stored reference to the conversation with this id (to update a message sent there)."""
    query = select(col(ConversationReference.reference)).where(
        col(ConversationReference.platform) == platform, col(ConversationReference.conversation_id) == conversation_id
    )
    return (await session.exec(query)).first()


async def delete_reference(*, session: AsyncSession, platform: str, scope: str, scope_id: str) -> None:
    """Forget a person's or channel's reference (the app was uninstalled there)."""
    await session.exec(
        delete(ConversationReference).where(
            col(ConversationReference.platform) == platform, col(ConversationReference.scope) == scope, col(ConversationReference.scope_id) == scope_id
        )
    )


async def get_person_reference(*, session: AsyncSession, platform: str, person_id: int) -> str | None:
    """Return the reference of a person's personal chat on a platform, if the app was installed for them."""
    query = (
        select(col(ConversationReference.reference))
        .join(PlatformIdentity, _OWN_CHAT)
        .where(col(ConversationReference.platform) == platform, col(ConversationReference.scope) == PERSON, col(PlatformIdentity.person_id) == person_id)
    )
    return (await session.exec(query)).first()


async def get_channel_reference(*, session: AsyncSession, platform: str, channel: str) -> str | None:
    """Return the reference of a channel named by its id or (case-insensitively) its name."""
    by_id = await get_reference(session=session, platform=platform, scope=CHANNEL, scope_id=channel)
    if by_id is not None:
        return by_id
    query = (
        select(col(ConversationReference.reference))
        .where(
            col(ConversationReference.platform) == platform,
            col(ConversationReference.scope) == CHANNEL,
            func.lower(col(ConversationReference.name)) == channel.lower(),
        )
        .order_by(col(ConversationReference.updated_at).desc())
    )
    if (by_name := (await session.exec(query)).first()) is not None:
        return by_name
    # A channel renamed since app.yaml named it. A team has a handful of channels: they are read and compared here.
    renamed = select(ConversationReference).where(
        col(ConversationReference.platform) == platform, col(ConversationReference.scope) == CHANNEL, col(ConversationReference.former_names).is_not(None)
    )
    for row in (await session.exec(renamed.order_by(col(ConversationReference.updated_at).desc()))).all():
        if channel.lower() in (row.former_names or "").splitlines():
            return row.reference
    return None


async def list_reachable_people(*, session: AsyncSession, platform: str, person_ids: Sequence[int]) -> set[int]:
    """Return which of these people have a personal chat with the bot on a platform."""
    if not person_ids:
        return set()
    return set((await session.exec(_with_personal_chat(platform).where(col(PlatformIdentity.person_id).in_(person_ids)))).all())


async def count_people_without_reference(*, session: AsyncSession, platform: str, unit_ids: Sequence[int] | None, unless_on: str | None = None) -> int:
    """Count the stakeholders of active models (in these units) with no personal chat on a platform (nor an identity on `unless_on`)."""
    query = (
        select(func.count(distinct(col(Stakeholder.person_id))))
        .join(MLModel, col(MLModel.id) == Stakeholder.model_id)
        .where(col(MLModel.status) == "active", col(Stakeholder.person_id).not_in(_with_personal_chat(platform)))
    )
    if unless_on:
        query = query.where(col(Stakeholder.person_id).not_in(select(col(PlatformIdentity.person_id)).where(col(PlatformIdentity.platform) == unless_on)))
    if unit_ids is not None:
        query = query.where(col(MLModel.unit_id).in_(unit_ids))
    return (await session.exec(query)).one()


async def update_unreachable_messages(*, session: AsyncSession, person_id: int, now: datetime) -> int:
    """Queue again what could not reach a person for want of a conversation; return how many.

    Called when a reference for them is captured: a check-in that failed because the
    app was not installed goes out now (it is rendered afresh, so an answered or
    expired one is skipped rather than sent).
    """
    result = await session.exec(
        update(OutboundMessage)
        .where(
            col(OutboundMessage.person_id) == person_id, col(OutboundMessage.status) == Delivery.FAILED, col(OutboundMessage.last_error).like("Unreachable:%")
        )
        .values(status=Delivery.QUEUED, not_before=now, attempts=0, claimed_until=None, last_error=None)
    )
    return result.rowcount or 0
