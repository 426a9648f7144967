"""Storage layer: people, their platform identities, and business units."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.columns import UTCDateTime, primary_key, utcnow


class PersonBase(SQLModel):
    key: str = Field(max_length=64, unique=True, index=True)
    display_name: str = Field(max_length=200)
    email: str | None = Field(default=None, max_length=320, unique=True)
    timezone: str = Field(max_length=64)
    is_lead: bool = False
    away_until: date | None = None


class Person(PersonBase, table=True):
    """Someone mlpulse talks to: an ML lead, a model owner or a business stakeholder.

    The one unstored person code meets is the guest stand-in for someone not yet recorded
    (`router.identity_optional`): its `id` is None, so handlers a guest reaches test for that.
    """

    id: int = primary_key()
    declared: bool = Field(default=True, description="False once removed from app.yaml")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class PlatformIdentity(SQLModel, table=True):
    """How a person is known on one platform (a Slack user id, a Teams AAD object id)."""

    __table_args__ = (UniqueConstraint("platform", "external_id"),)

    id: int = primary_key()
    person_id: int = Field(foreign_key="person.id", index=True)
    platform: str = Field(max_length=16)
    external_id: str = Field(max_length=128)


class BusinessUnit(SQLModel, table=True):
    """A part of the business that uses the ML team's models."""

    id: int = primary_key()
    name: str = Field(max_length=120, unique=True, index=True)
    channel: str | None = Field(default=None, max_length=128)
    timezone: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class UnitContact(SQLModel, table=True):
    """A person who speaks for a business unit."""

    unit_id: int = Field(foreign_key="businessunit.id", primary_key=True)
    person_id: int = Field(foreign_key="person.id", primary_key=True, index=True)
