"""Storage layer: queries about success stories and the people they credit."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import MLModel, Person, StoryContributor, SuccessStory


async def get_story(*, session: AsyncSession, story_id: int, lock: bool = False) -> SuccessStory | None:
    """Get a story by id, locked for update when asked."""
    return await session.get(SuccessStory, story_id, with_for_update=True if lock else None)


async def get_story_by_request(*, session: AsyncSession, request_key: str) -> SuccessStory | None:
    """Get the story a submission created, if it created one."""
    return (await session.exec(select(SuccessStory).where(col(SuccessStory.request_key) == request_key))).first()


async def create_story(*, session: AsyncSession, story: SuccessStory) -> SuccessStory:
    """Add a story and give it its id."""
    session.add(story)
    await session.flush()
    return story


async def update_contributors(*, session: AsyncSession, story_id: int, person_ids: Sequence[int]) -> None:
    """Make exactly these people the story's contributors."""
    await session.exec(delete(StoryContributor).where(col(StoryContributor.story_id) == story_id))
    session.add_all(StoryContributor(story_id=story_id, person_id=pid) for pid in dict.fromkeys(person_ids))
    await session.flush()


async def list_contributors(*, session: AsyncSession, story_id: int) -> Sequence[Person]:
    """List the people a story credits, by name."""
    query = select(Person).join(StoryContributor, col(StoryContributor.person_id) == Person.id).where(col(StoryContributor.story_id) == story_id)
    return (await session.exec(query.order_by(col(Person.display_name)))).all()


async def list_posted_stories(*, session: AsyncSession, model_id: int, limit: int) -> Sequence[SuccessStory]:
    """List a model's approved stories, newest first."""
    query = (
        select(SuccessStory)
        .where(col(SuccessStory.model_id) == model_id, col(SuccessStory.status) == "approved")
        .order_by(col(SuccessStory.posted_at).desc())
        .limit(limit)
    )
    return (await session.exec(query)).all()


async def list_stories_posted_between(
    *, session: AsyncSession, since: datetime, until: datetime, unit_ids: Sequence[int] | None = None, limit: int = 20
) -> Sequence[tuple[SuccessStory, MLModel]]:
    """List the stories approved in [since, until) with their models, newest first."""
    query = (
        select(SuccessStory, MLModel)
        .join(MLModel, col(MLModel.id) == SuccessStory.model_id)
        .where(col(SuccessStory.status) == "approved", col(SuccessStory.posted_at) >= since, col(SuccessStory.posted_at) < until)
        .order_by(col(SuccessStory.posted_at).desc())
        .limit(limit)
    )
    if unit_ids is not None:
        query = query.where(col(MLModel.unit_id).in_(unit_ids))
    return (await session.exec(query)).all()
