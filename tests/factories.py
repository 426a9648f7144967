"""Test factories: build a portfolio through the real app.yaml sync, with short specs."""

from __future__ import annotations

from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.context import Context, Policy
from handlers.declarations import PortfolioDecl
from handlers.registry import handle_sync
from storage import people as people_store
from storage import portfolio as portfolio_store
from storage.models import MLModel, Person
from tests.conftest import NOW, POLICY


def decl(
    people: list[dict] | None = None,
    units: list[dict] | None = None,
    models: list[dict] | None = None,
    leads: list[str] | None = None,
    **extra,
) -> PortfolioDecl:
    """Return a portfolio declaration; people may be given as bare keys."""
    people = [p if isinstance(p, dict) else {"key": p, "name": p.title(), "email": f"{p}@example.com"} for p in (people or [])]
    units = [u if isinstance(u, dict) else {"name": u} for u in (units or [])]
    return PortfolioDecl.model_validate({"people": people, "units": units, "models": models or [], "leads": leads or [], **extra})


def small_portfolio() -> PortfolioDecl:
    """Two units, a lead, an owner and three stakeholders, three models."""
    return decl(
        people=["lead", "owner", "ana", "bo", {"key": "cy", "name": "Cy Tokyo", "email": "cy@example.com", "timezone": "Asia/Tokyo"}],
        leads=["lead"],
        units=[{"name": "Sales", "contacts": ["ana"]}, {"name": "Finance", "contacts": ["cy"]}],
        models=[
            {"key": "churn", "name": "Churn predictor", "unit": "Sales", "owner": "owner", "stakeholders": ["ana", "bo"]},
            {"key": "fraud", "name": "Invoice fraud screen", "unit": "Finance", "owner": "owner", "stakeholders": ["cy"]},
            {"key": "demand", "name": "Demand forecast", "unit": "Sales", "owner": "lead", "stakeholders": ["ana"]},
        ],
    )


async def sync(session: AsyncSession, portfolio: PortfolioDecl, now: datetime = NOW, policy: Policy = POLICY):
    """Sync a declaration into the database and commit."""
    report = await handle_sync(session, portfolio, policy, now)
    await session.commit()
    return report


async def person(session: AsyncSession, key: str) -> Person:
    found = await people_store.get_person_by_key(session=session, key=key)
    assert found is not None, key
    return found


async def model(session: AsyncSession, key: str) -> MLModel:
    found = await portfolio_store.get_model_by_key(session=session, key=key)
    assert found is not None, key
    return found


def ctx(actor: Person, now: datetime = NOW, policy: Policy = POLICY, request_id: str | None = None) -> Context:
    return Context(actor=actor, now=now, platform="test", policy=policy, request_id=request_id)
