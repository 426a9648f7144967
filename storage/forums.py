"""Storage layer: queries about review forums."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import BusinessUnit, ForumSession, ReviewForum


async def list_upcoming_sessions(
    *, session: AsyncSession, after: datetime, unit_ids: Sequence[int] | None, limit: int
) -> Sequence[tuple[ForumSession, BusinessUnit]]:
    """List the next scheduled forum sessions with their units, soonest first."""
    query = (
        select(ForumSession, BusinessUnit)
        .join(ReviewForum, ReviewForum.id == ForumSession.forum_id)
        .join(BusinessUnit, BusinessUnit.id == ReviewForum.unit_id)
        .where(ForumSession.starts_at > after, ForumSession.status == "scheduled")
        .order_by(ForumSession.starts_at)
        .limit(limit)
    )
    if unit_ids is not None:
        query = query.where(ReviewForum.unit_id.in_(unit_ids))
    return (await session.exec(query)).all()
