"""Storage layer: queries about people, identities and business units."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.common import get_referenced
from storage.models import BusinessUnit, MLModel, Person, PlatformIdentity, Stakeholder, UnitContact


async def get_person(*, session: AsyncSession, person_id: int) -> Person | None:
    """Get a person by id."""
    return await session.get(Person, person_id)


async def must_get_person(*, session: AsyncSession, person_id: int) -> Person:
    """Get the person a foreign key names (a check-in's recipient, a model's owner); raise MissingRow if they are gone."""
    return await get_referenced(session, Person, person_id)


async def get_person_by_key(*, session: AsyncSession, key: str) -> Person | None:
    """Get a person by their app.yaml key."""
    return (await session.exec(select(Person).where(col(Person.key) == key))).first()


async def get_person_by_identity(*, session: AsyncSession, platform: str, external_id: str) -> Person | None:
    """Get the person known on `platform` as `external_id`."""
    query = (
        select(Person)
        .join(PlatformIdentity, col(PlatformIdentity.person_id) == Person.id)
        .where(col(PlatformIdentity.platform) == platform, col(PlatformIdentity.external_id) == external_id)
    )
    return (await session.exec(query)).first()


async def list_people(*, session: AsyncSession, ids: Sequence[int] | None = None, leads_only: bool = False, declared_only: bool = True) -> Sequence[Person]:
    """List the people app.yaml declares (everyone known, unless `declared_only`), optionally only those with `ids` or only the leads, in id order."""
    query = select(Person)
    if declared_only:
        query = query.where(col(Person.declared))
    if ids is not None:
        query = query.where(col(Person.id).in_(ids))
    if leads_only:
        query = query.where(col(Person.is_lead))
    return (await session.exec(query.order_by(col(Person.id)))).all()


async def get_unit(*, session: AsyncSession, unit_id: int) -> BusinessUnit | None:
    """Get a business unit by id."""
    return await session.get(BusinessUnit, unit_id)


async def must_get_unit(*, session: AsyncSession, unit_id: int) -> BusinessUnit:
    """Get the business unit a foreign key names (a model's, a forum's); raise MissingRow if it is gone."""
    return await get_referenced(session, BusinessUnit, unit_id)


async def list_units(*, session: AsyncSession, ids: Sequence[int] | None = None) -> Sequence[BusinessUnit]:
    """List business units by name, optionally only those with `ids`."""
    query = select(BusinessUnit)
    if ids is not None:
        query = query.where(col(BusinessUnit.id).in_(ids))
    return (await session.exec(query.order_by(col(BusinessUnit.name)))).all()


async def list_unit_contacts(*, session: AsyncSession, unit_id: int) -> Sequence[Person]:
    """List the people who speak for a unit."""
    query = select(Person).join(UnitContact, col(UnitContact.person_id) == Person.id).where(col(UnitContact.unit_id) == unit_id)
    return (await session.exec(query.order_by(col(Person.display_name)))).all()


async def list_unit_ids_for_person(*, session: AsyncSession, person_id: int) -> set[int]:
    """List the units a person belongs to: as a contact, a model owner or a stakeholder."""
    contact = select(col(UnitContact.unit_id)).where(col(UnitContact.person_id) == person_id)
    owned = select(col(MLModel.unit_id)).where(col(MLModel.owner_id) == person_id)
    answered = select(col(MLModel.unit_id)).join(Stakeholder, col(Stakeholder.model_id) == MLModel.id).where(col(Stakeholder.person_id) == person_id)
    units = contact.union(owned, answered).subquery()
    return set((await session.exec(select(units.c.unit_id))).all())


async def list_people_with_keys(*, session: AsyncSession, keys: Sequence[str]) -> Sequence[Person]:
    """List the people (declared or not) whose keys are among `keys`."""
    return (await session.exec(select(Person).where(col(Person.key).in_(keys)))).all() if keys else []


async def list_people_by_key(*, session: AsyncSession) -> dict[str, Person]:
    """Return everyone, keyed by their app.yaml key."""
    return {p.key: p for p in (await session.exec(select(Person))).all()}


async def list_units_by_name(*, session: AsyncSession) -> dict[str, BusinessUnit]:
    """Return every unit, keyed by its lower-cased name."""
    return {u.name.lower(): u for u in (await session.exec(select(BusinessUnit))).all()}


async def list_identities_by_person(*, session: AsyncSession) -> dict[tuple[int, str], str]:
    """Return every platform identity as {(person id, platform): external id}."""
    rows = await session.exec(select(PlatformIdentity))
    return {(i.person_id, i.platform): i.external_id for i in rows.all()}


async def update_identities(*, session: AsyncSession, person_id: int, identities: dict[str, str | None]) -> None:
    """Make a person's identity on each named platform the given id (None removes it)."""
    for platform, external_id in identities.items():
        await session.exec(
            delete(PlatformIdentity).where(
                col(PlatformIdentity.platform) == platform,
                or_(col(PlatformIdentity.person_id) == person_id, col(PlatformIdentity.external_id) == (external_id or "")),
            )
        )
        if external_id:
            session.add(PlatformIdentity(person_id=person_id, platform=platform, external_id=external_id))


async def update_unit_contacts(*, session: AsyncSession, unit_id: int, person_ids: Sequence[int]) -> None:
    """Make `person_ids` exactly the contacts of a unit, writing only the rows that change."""
    # Deleting and re-inserting every contact would rewrite unchanged rows on every start,
    # and two starts doing it at once collide on the primary key.
    current = set((await session.exec(select(col(UnitContact.person_id)).where(col(UnitContact.unit_id) == unit_id))).all())
    if removed := current - set(person_ids):
        await session.exec(delete(UnitContact).where(col(UnitContact.unit_id) == unit_id, col(UnitContact.person_id).in_(removed)))
    for person_id in dict.fromkeys(person_ids):
        if person_id not in current:
            session.add(UnitContact(unit_id=unit_id, person_id=person_id))


async def get_identity(*, session: AsyncSession, person_id: int, platform: str) -> str | None:
    """Return how a person is known on a platform, if known."""
    query = select(col(PlatformIdentity.external_id)).where(col(PlatformIdentity.person_id) == person_id, col(PlatformIdentity.platform) == platform)
    return (await session.exec(query)).first()


async def get_person_by_email(*, session: AsyncSession, email: str) -> Person | None:
    """Get a person by email address (case-insensitive)."""
    return (await session.exec(select(Person).where(func.lower(col(Person.email)) == email.strip().lower()))).first()


async def create_identity(*, session: AsyncSession, person_id: int, platform: str, external_id: str) -> None:
    """Record how a person is known on a platform, unless that is recorded already."""
    session.add(PlatformIdentity(person_id=person_id, platform=platform, external_id=external_id))
    await session.flush()


async def list_people_with_identity(*, session: AsyncSession, platform: str, person_ids: Sequence[int]) -> set[int]:
    """Return which of these people are known on a platform."""
    if not person_ids:
        return set()
    query = select(col(PlatformIdentity.person_id)).where(col(PlatformIdentity.platform) == platform, col(PlatformIdentity.person_id).in_(person_ids))
    return set((await session.exec(query)).all())


async def create_person_with_identity(
    *, session: AsyncSession, platform: str, external_id: str, email: str | None, key: str, display_name: str, timezone: str, now: datetime
) -> Person:
    """Return the person known by this platform id; else the one with this email, now given the id; else a new undeclared person."""
    known = await get_person_by_identity(session=session, platform=platform, external_id=external_id)
    if known:
        return known
    person = await get_person_by_email(session=session, email=email) if email else None
    if person is None:
        person = Person(key=key[:64], display_name=display_name[:200], email=email, timezone=timezone, declared=False, created_at=now, updated_at=now)
        session.add(person)
        await session.flush()
    await create_identity(session=session, person_id=person.id, platform=platform, external_id=external_id)
    return person
