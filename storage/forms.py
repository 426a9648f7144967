"""Storage layer: the state of open forms, kept on the server when the platform cannot carry it."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import FormDraft

# A form left open longer than this is answered "that form has expired"; its state goes.
DRAFT_LIFETIME = timedelta(days=2)


async def create_draft(*, session: AsyncSession, key: str, state: str, now: datetime) -> None:
    """Keep a form's state under `key`."""
    session.add(FormDraft(key=key, state=state, created_at=now))


async def delete_old_drafts(*, session: AsyncSession, now: datetime) -> int:
    """Drop the drafts of forms abandoned longer than `DRAFT_LIFETIME`; return how many."""
    return (await session.exec(delete(FormDraft).where(col(FormDraft.created_at) < now - DRAFT_LIFETIME))).rowcount


async def get_draft(*, session: AsyncSession, key: str) -> str | None:
    """Get the state kept for a form, or None when it is gone."""
    draft = await session.get(FormDraft, key)
    return draft.state if draft else None


async def delete_draft(*, session: AsyncSession, key: str) -> None:
    """Forget a form's state once the form is done with."""
    await session.exec(delete(FormDraft).where(col(FormDraft.key) == key))
