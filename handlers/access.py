"""Handlers layer: who may see and do what.

Leads see the whole portfolio and may change it. Everyone else sees the units they
belong to (as a unit contact, a model owner or a stakeholder).
"""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.context import Context
from handlers.views import Reply, notice
from storage import people as people_store
from storage.models import MLModel


async def visible_unit_ids(session: AsyncSession, ctx: Context) -> set[int] | None:
    """Return the unit ids the actor may see, or None when they may see everything."""
    if ctx.actor.is_lead:
        return None
    return await people_store.list_unit_ids_for_person(session=session, person_id=ctx.actor.id)


async def can_see_model(session: AsyncSession, ctx: Context, model: MLModel) -> bool:
    """Tell whether the actor may see a model."""
    units = await visible_unit_ids(session, ctx)
    return units is None or model.unit_id in units


def leads_only(ctx: Context, what: str) -> Reply | None:
    """Return a polite refusal unless the actor is a lead."""
    if ctx.actor.is_lead:
        return None
    return notice(f"Only ML leads can {what}. If you think this needs doing, ask one of them.")
