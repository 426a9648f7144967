"""Storage layer: queries about success stories."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import SuccessStory


async def list_posted_stories(*, session: AsyncSession, model_id: int, limit: int) -> Sequence[SuccessStory]:
    """List a model's approved stories, newest first."""
    query = (
        select(SuccessStory)
        .where(SuccessStory.model_id == model_id, SuccessStory.status == "approved")
        .order_by(SuccessStory.created_at.desc())
        .limit(limit)
    )
    return (await session.exec(query)).all()
