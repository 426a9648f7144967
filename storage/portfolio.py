"""Storage layer: queries about models, stakeholders and the signals behind health."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Select, case, delete, func, or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.common import dialect, get_referenced, insert_ignoring_conflict
from storage.models import BusinessUnit, CheckIn, FailureReport, MLModel, ModelHealthEvent, Person, Stakeholder, StakeholderChoice

OPEN_REPORT_STATES = ("open", "triaged", "analysing")


async def get_model(*, session: AsyncSession, model_id: int) -> MLModel | None:
    """Get a model by id."""
    return await session.get(MLModel, model_id)


async def must_get_model(*, session: AsyncSession, model_id: int) -> MLModel:
    """Get the model a foreign key names (a check-in's, a report's, a story's); raise MissingRow if it is gone."""
    return await get_referenced(session, MLModel, model_id)


async def get_model_by_key(*, session: AsyncSession, key: str) -> MLModel | None:
    """Get a model by its app.yaml key."""
    return (await session.exec(select(MLModel).where(col(MLModel.key) == key))).first()


Query = TypeVar("Query", bound=Select[Any])


def _portfolio_filter(query: Query, *, unit_ids: Sequence[int] | None, person_id: int | None, include_retired: bool, healths: Sequence[str] | None) -> Query:
    if unit_ids is not None:
        query = query.where(col(MLModel.unit_id).in_(unit_ids))
    if person_id is not None:
        stakeholder = select(col(Stakeholder.model_id)).where(col(Stakeholder.person_id) == person_id)
        query = query.where(or_(col(MLModel.owner_id) == person_id, col(MLModel.id).in_(stakeholder)))
    if not include_retired:
        query = query.where(col(MLModel.status) == "active")
    if healths is not None:
        query = query.where(col(MLModel.health).in_(healths))
    return query


async def list_models(
    *,
    session: AsyncSession,
    unit_ids: Sequence[int] | None = None,
    person_id: int | None = None,
    include_retired: bool = False,
    healths: Sequence[str] | None = None,
    offset: int = 0,
    limit: int | None = None,
) -> Sequence[tuple[MLModel, BusinessUnit, Person]]:
    """List models with their unit and owner, most in need of attention first: in the order of `healths` when given, then by open reports and the oldest last answer."""
    order: tuple[Any, ...] = (col(MLModel.open_reports).desc(), col(MLModel.last_answer_at).asc().nulls_first(), col(MLModel.name), col(MLModel.id))
    if healths:
        order = (case({h: rank for rank, h in enumerate(healths)}, value=col(MLModel.health), else_=len(healths)), *order)
    # The page is chosen from ml_model alone and only its rows are joined, so a poor row
    # estimate cannot turn the joins into a loop over the whole portfolio.
    ids = _portfolio_filter(select(col(MLModel.id)), unit_ids=unit_ids, person_id=person_id, include_retired=include_retired, healths=healths)
    page = ids.order_by(*order).offset(offset).limit(limit).subquery()
    query = (
        select(MLModel, BusinessUnit, Person)
        .join(page, page.c.id == MLModel.id)
        .join(BusinessUnit, col(BusinessUnit.id) == MLModel.unit_id)
        .join(Person, col(Person.id) == MLModel.owner_id)
        .order_by(*order)
    )
    return (await session.exec(query)).all()


async def count_models(
    *,
    session: AsyncSession,
    unit_ids: Sequence[int] | None = None,
    person_id: int | None = None,
    include_retired: bool = False,
    healths: Sequence[str] | None = None,
) -> int:
    """Count the models that `list_models` would list."""
    query = _portfolio_filter(
        select(func.count()).select_from(MLModel),
        unit_ids=unit_ids,
        person_id=person_id,
        include_retired=include_retired,
        healths=healths,
    )
    return (await session.exec(query)).one()


async def count_models_by_health(*, session: AsyncSession, unit_ids: Sequence[int] | None = None) -> dict[str, int]:
    """Count active models per health."""
    query = select(col(MLModel.health), func.count()).where(col(MLModel.status) == "active").group_by(col(MLModel.health))
    if unit_ids is not None:
        query = query.where(col(MLModel.unit_id).in_(unit_ids))
    return dict((await session.exec(query)).all())


async def count_deprecation_candidates(*, session: AsyncSession, unit_ids: Sequence[int] | None = None) -> int:
    """Count active models flagged for retirement."""
    query = select(func.count()).select_from(MLModel).where(col(MLModel.status) == "active", col(MLModel.deprecation_candidate_since).is_not(None))
    if unit_ids is not None:
        query = query.where(col(MLModel.unit_id).in_(unit_ids))
    return (await session.exec(query)).one()


async def list_model_names(*, session: AsyncSession, include_retired: bool = True) -> Sequence[tuple[int, str, str]]:
    """List (id, key, name) of every model, for matching what a user typed."""
    query = select(col(MLModel.id), col(MLModel.key), col(MLModel.name))
    if not include_retired:
        query = query.where(col(MLModel.status) == "active")
    return (await session.exec(query)).all()


async def list_stakeholders(*, session: AsyncSession, model_id: int) -> Sequence[Person]:
    """List the people who answer check-ins for a model."""
    query = select(Person).join(Stakeholder, col(Stakeholder.person_id) == Person.id).where(col(Stakeholder.model_id) == model_id)
    return (await session.exec(query.order_by(col(Person.display_name)))).all()


async def list_stakeholder_links(*, session: AsyncSession, model_id: int) -> Sequence[Stakeholder]:
    """List the stakeholder rows of a model."""
    return (await session.exec(select(Stakeholder).where(col(Stakeholder.model_id) == model_id))).all()


async def list_due_stakeholders(*, session: AsyncSession, now: datetime, limit: int) -> Sequence[tuple[Stakeholder, MLModel, Person]]:
    """List stakeholder links whose next check-in is due, locking them against other ticks."""
    query = (
        select(Stakeholder, MLModel, Person)
        .join(MLModel, col(MLModel.id) == Stakeholder.model_id)
        .join(Person, col(Person.id) == Stakeholder.person_id)
        .where(col(Stakeholder.next_due_at) <= now)
        .order_by(col(Stakeholder.next_due_at))
        .limit(limit)
    )
    if dialect(session) == "postgresql":
        query = query.with_for_update(of=Stakeholder, skip_locked=True)
    return (await session.exec(query)).all()


async def get_next_due_stakeholder_at(*, session: AsyncSession) -> datetime | None:
    """Return when the next check-in falls due for anyone."""
    return (await session.exec(select(func.min(col(Stakeholder.next_due_at))))).one()


async def update_next_due(*, session: AsyncSession, model_id: int, person_id: int, next_due_at: datetime | None) -> None:
    """Set when a stakeholder's next check-in for a model is due."""
    await session.exec(
        update(Stakeholder).where(col(Stakeholder.model_id) == model_id, col(Stakeholder.person_id) == person_id).values(next_due_at=next_due_at)
    )


async def list_settled_checkins(*, session: AsyncSession, model_id: int, since: datetime) -> Sequence[CheckIn]:
    """List a model's answered or expired check-ins due since `since`, newest first."""
    query = (
        select(CheckIn)
        .where(col(CheckIn.model_id) == model_id, col(CheckIn.due_at) >= since, col(CheckIn.status).in_(("answered", "expired")))
        .order_by(col(CheckIn.due_at).desc(), col(CheckIn.id).desc())
    )
    return (await session.exec(query)).all()


async def get_last_answer(*, session: AsyncSession, model_id: int) -> CheckIn | None:
    """Get a model's most recently answered check-in."""
    query = (
        select(CheckIn)
        .where(col(CheckIn.model_id) == model_id, col(CheckIn.answered_at).is_not(None), col(CheckIn.answer) != "not_me")
        .order_by(col(CheckIn.answered_at).desc())
        .limit(1)
    )
    return (await session.exec(query)).first()


async def count_open_reports(*, session: AsyncSession, model_id: int, serious: Sequence[str]) -> tuple[int, int]:
    """Count a model's unresolved failure reports: all of them, and those of a `serious` impact."""
    query = select(func.count(), func.count().filter(col(FailureReport.impact).in_(serious))).where(
        col(FailureReport.model_id) == model_id, col(FailureReport.status).in_(OPEN_REPORT_STATES)
    )
    count, serious_count = (await session.exec(query)).one()
    return count, serious_count


async def list_models_to_refresh(*, session: AsyncSession, checked_before: datetime, limit: int) -> Sequence[MLModel]:
    """List active models whose cached health is older than `checked_before`."""
    query = (
        select(MLModel)
        .where(col(MLModel.status) == "active")
        .where(or_(col(MLModel.health_checked_at).is_(None), col(MLModel.health_checked_at) < checked_before))
        .order_by(col(MLModel.id))
        .limit(limit)
    )
    if dialect(session) == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return (await session.exec(query)).all()


def add_health_event(*, session: AsyncSession, model_id: int, health: str, reason: str, at: datetime) -> None:
    """Record that a model's health changed."""
    session.add(ModelHealthEvent(model_id=model_id, health=health, reason=reason, at=at))


async def create_stakeholder(*, session: AsyncSession, model_id: int, person_id: int, next_due_at: datetime | None) -> bool:
    """Link a person to a model as a stakeholder unless they are one already; return whether it was new."""
    statement = insert_ignoring_conflict(
        session, Stakeholder, dict(model_id=model_id, person_id=person_id, next_due_at=next_due_at), ["model_id", "person_id"]
    ).returning(col(Stakeholder.person_id))
    return (await session.exec(statement)).scalar_one_or_none() is not None


async def delete_stakeholder(*, session: AsyncSession, model_id: int, person_id: int) -> None:
    """Stop a person being a stakeholder of a model."""
    await session.exec(delete(Stakeholder).where(col(Stakeholder.model_id) == model_id, col(Stakeholder.person_id) == person_id))


async def update_stakeholder_choice(*, session: AsyncSession, model_id: int, person_id: int, asked: bool, by_id: int, at: datetime) -> None:
    """Record whether a person is to be asked about a model, as said in chat, replacing any earlier choice."""
    insert = postgresql.insert if dialect(session) == "postgresql" else sqlite.insert
    statement = insert(StakeholderChoice).values(model_id=model_id, person_id=person_id, asked=asked, by_id=by_id, at=at)
    await session.exec(statement.on_conflict_do_update(index_elements=["model_id", "person_id"], set_=dict(asked=asked, by_id=by_id, at=at)))


async def list_stakeholder_choices(*, session: AsyncSession) -> dict[int, dict[int, bool]]:
    """Return the choices made in chat, as {model id: {person id: asked}}."""
    choices: dict[int, dict[int, bool]] = {}
    for model_id, person_id, asked in (
        await session.exec(select(col(StakeholderChoice.model_id), col(StakeholderChoice.person_id), col(StakeholderChoice.asked)))
    ).all():
        choices.setdefault(model_id, {})[person_id] = asked
    return choices


async def get_next_due_for_model(*, session: AsyncSession, model_id: int) -> datetime | None:
    """Return when a model's next check-in falls due for any of its stakeholders."""
    return (await session.exec(select(func.min(col(Stakeholder.next_due_at))).where(col(Stakeholder.model_id) == model_id))).one()


async def update_model_schedule(*, session: AsyncSession, model_id: int, next_due_at: datetime | None) -> None:
    """Set the next due time of every stakeholder of a model (None stops its check-ins)."""
    await session.exec(update(Stakeholder).where(col(Stakeholder.model_id) == model_id).values(next_due_at=next_due_at))


async def list_models_by_key(*, session: AsyncSession) -> dict[str, MLModel]:
    """Return every model, keyed by its app.yaml key."""
    return {m.key: m for m in (await session.exec(select(MLModel))).all()}


async def list_stakeholders_by_model(*, session: AsyncSession) -> dict[int, set[int]]:
    """Return every model's stakeholder person ids, keyed by model id."""
    links: dict[int, set[int]] = {}
    for model_id, person_id in (await session.exec(select(col(Stakeholder.model_id), col(Stakeholder.person_id)))).all():
        links.setdefault(model_id, set()).add(person_id)
    return links


async def list_links_for_person(*, session: AsyncSession, person_id: int) -> Sequence[tuple[Stakeholder, MLModel]]:
    """List a person's stakeholder links with their models."""
    query = select(Stakeholder, MLModel).join(MLModel, col(MLModel.id) == Stakeholder.model_id).where(col(Stakeholder.person_id) == person_id)
    return (await session.exec(query)).all()


async def list_models_by_ids(*, session: AsyncSession, ids: Sequence[int]) -> Sequence[MLModel]:
    """List the models with these ids."""
    if not ids:
        return []
    return (await session.exec(select(MLModel).where(col(MLModel.id).in_(set(ids))))).all()


async def list_health_timeline(*, session: AsyncSession, since: datetime, until: datetime) -> Sequence[tuple[int, str, datetime]]:
    """List (model id, health, at) of every health change in [since, until), and each model's last one before `since`.

    Only models that existed before `until` and were not retired before `since` count.
    """
    alive = select(col(MLModel.id)).where(col(MLModel.created_at) < until, or_(col(MLModel.retired_at).is_(None), col(MLModel.retired_at) >= since))
    latest = (
        select(col(ModelHealthEvent.model_id), func.max(col(ModelHealthEvent.at)).label("at"))
        .where(col(ModelHealthEvent.at) < since, col(ModelHealthEvent.model_id).in_(alive))
        .group_by(col(ModelHealthEvent.model_id))
        .subquery()
    )
    before = select(col(ModelHealthEvent.model_id), col(ModelHealthEvent.health), col(ModelHealthEvent.at)).join(
        latest, (latest.c.model_id == ModelHealthEvent.model_id) & (latest.c.at == ModelHealthEvent.at)
    )
    during = select(col(ModelHealthEvent.model_id), col(ModelHealthEvent.health), col(ModelHealthEvent.at)).where(
        col(ModelHealthEvent.at) >= since, col(ModelHealthEvent.at) < until, col(ModelHealthEvent.model_id).in_(alive)
    )
    rows = [*(await session.exec(before)).all(), *(await session.exec(during)).all()]
    return sorted(rows, key=lambda row: (row[0], row[2]))


async def get_installed_at(*, session: AsyncSession) -> datetime | None:
    """Return when this install began: the first unit, person or model recorded (None while the database is empty)."""
    firsts = [(await session.exec(select(func.min(table.created_at)))).one() for table in (BusinessUnit, Person, MLModel)]
    return min((moment for moment in firsts if moment is not None), default=None)


async def list_model_lifetimes(*, session: AsyncSession, until: datetime) -> Sequence[tuple[int, datetime, datetime | None]]:
    """List (id, created_at, retired_at) of every model created before `until`."""
    query = select(col(MLModel.id), col(MLModel.created_at), col(MLModel.retired_at)).where(col(MLModel.created_at) < until)
    return (await session.exec(query)).all()
