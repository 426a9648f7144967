"""Storage layer: the model portfolio, its stakeholders and its health."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from storage.columns import UTCDateTime, primary_key, utcnow


class MLModel(SQLModel, table=True):
    """A deployed ML model, with its cadence and the health last computed for it.

    The health columns are a cache written by one function (`handlers.health`), so that
    `/mlstatus` reads one row a model instead of its whole answer history.
    """

    __tablename__ = "ml_model"
    __table_args__ = (Index("ix_ml_model_unit_status", "unit_id", "status"),)

    id: int = primary_key()
    key: str = Field(max_length=64, unique=True, index=True)
    name: str = Field(max_length=200)
    description: str = Field(default="", max_length=2000)
    unit_id: int = Field(foreign_key="businessunit.id")
    owner_id: int = Field(foreign_key="person.id", index=True)
    deployed_on: date | None = None
    kpi: str | None = Field(default=None, max_length=300)
    cadence: str | None = Field(default=None, max_length=200, description="JSON override, null = default")
    status: str = Field(default="active", max_length=16)
    retired_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    retired_by_id: int | None = Field(default=None, foreign_key="person.id")
    health: str = Field(default="unknown", max_length=16)
    health_reason: str = Field(default="", max_length=300)
    health_checked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_answer: str | None = Field(default=None, max_length=16)
    last_answer_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    response_rate: float | None = None
    open_reports: int = 0
    deprecation_candidate_since: datetime | None = Field(default=None, sa_type=UTCDateTime)
    deprecation_reason: str | None = Field(default=None, max_length=300)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Stakeholder(SQLModel, table=True):
    """A person who answers check-ins for a model, and when the next one is due for them."""

    __table_args__ = (Index("ix_stakeholder_next_due", "next_due_at"),)

    model_id: int = Field(foreign_key="ml_model.id", primary_key=True)
    person_id: int = Field(foreign_key="person.id", primary_key=True, index=True)
    next_due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class StakeholderChoice(SQLModel, table=True):
    """A choice made in chat about who answers a model's check-ins, which no app.yaml sync undoes.

    `asked` is False when the person said *Stop asking me*, True when they were named
    in chat to answer instead of someone who stopped. The latest choice wins.
    """

    __tablename__ = "stakeholder_choice"

    model_id: int = Field(foreign_key="ml_model.id", primary_key=True)
    person_id: int = Field(foreign_key="person.id", primary_key=True)
    asked: bool
    by_id: int = Field(foreign_key="person.id")
    at: datetime = Field(sa_type=UTCDateTime)


class ModelHealthEvent(SQLModel, table=True):
    """A change of a model's health, kept so that trends can be drawn."""

    __table_args__ = (Index("ix_modelhealthevent_model_at", "model_id", "at"),)

    id: int = primary_key()
    model_id: int = Field(foreign_key="ml_model.id")
    health: str = Field(max_length=16)
    reason: str = Field(default="", max_length=300)
    at: datetime = Field(sa_type=UTCDateTime)
