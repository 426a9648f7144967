"""Storage layer: check-ins and the history of their answers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.columns import UTCDateTime, primary_key, utcnow


class CheckIn(SQLModel, table=True):
    """One question to one person about one model for one period.

    The unique key (model, person, period) is what makes dispatch exactly-once: a second
    tick, a replica or a retry that tries to create the same check-in finds it there.
    `next_action_at` is when the tick must look at it again (a reminder, the end of a
    snooze, expiry); it is null once nothing more is scheduled.
    """

    __tablename__ = "checkin"
    __table_args__ = (
        UniqueConstraint("model_id", "person_id", "period_key", name="uq_checkin_model_person_period"),
        Index("ix_checkin_next_action", "next_action_at"),
        Index("ix_checkin_person_status", "person_id", "status"),
        Index("ix_checkin_model_due", "model_id", "due_at"),
        Index("ix_checkin_closed", "closed_at"),
    )

    id: int = primary_key()
    model_id: int = Field(foreign_key="ml_model.id")
    person_id: int = Field(foreign_key="person.id")
    period_key: str = Field(max_length=32)
    due_at: datetime = Field(sa_type=UTCDateTime)
    period_ends_at: datetime = Field(sa_type=UTCDateTime)
    status: str = Field(default="open", max_length=16)
    reminders_sent: int = 0
    snoozes: int = 0
    snoozed_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    next_action_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    answer: str | None = Field(default=None, max_length=16)
    answered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    business_change: str | None = Field(default=None, max_length=3000)
    satisfaction: int | None = None
    comment: str | None = Field(default=None, max_length=3000)
    reassigned_from_id: int | None = Field(default=None, foreign_key="checkin.id")
    reassigned_to_id: int | None = Field(default=None, foreign_key="person.id")
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class CheckInAnswer(SQLModel, table=True):
    """One answer as it was given; a changed answer adds a row, it never rewrites one."""

    __tablename__ = "checkin_answer"
    __table_args__ = (Index("ix_checkin_answer_checkin", "checkin_id", "answered_at"),)

    id: int = primary_key()
    checkin_id: int = Field(foreign_key="checkin.id")
    answer: str = Field(max_length=16)
    business_change: str | None = Field(default=None, max_length=3000)
    satisfaction: int | None = None
    comment: str | None = Field(default=None, max_length=3000)
    answered_by_id: int = Field(foreign_key="person.id")
    answered_at: datetime = Field(sa_type=UTCDateTime)
    late: bool = False
    idempotency_key: str | None = Field(default=None, max_length=128, unique=True)
