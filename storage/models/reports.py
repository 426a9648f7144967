"""Storage layer: failure reports and their lifecycle events.

An anonymous report has no reporter column set and its events no actor: identity is
never written, only the receipt code that the reporter keeps.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from storage.columns import UTCDateTime, primary_key, utcnow


class FailureReport(SQLModel, table=True):
    """A report that a model misbehaves, tracked from open to resolved."""

    __tablename__ = "failure_report"
    __table_args__ = (Index("ix_failure_report_model_status", "model_id", "status"),)

    id: int = primary_key()
    model_id: int = Field(foreign_key="ml_model.id")
    receipt_code: str = Field(max_length=16, unique=True)
    anonymous: bool = False
    reporter_id: int | None = Field(default=None, foreign_key="person.id")
    what_happened: str = Field(max_length=3000)
    since: date | None = None
    impact: str = Field(default="minor", max_length=16)
    frequency: str | None = Field(default=None, max_length=200)
    status: str = Field(default="open", max_length=16)
    assignee_id: int | None = Field(default=None, foreign_key="person.id")
    root_cause: str | None = Field(default=None, max_length=32)
    analysis: str | None = Field(default=None, max_length=3000)
    resolution: str | None = Field(default=None, max_length=3000)
    checkin_id: int | None = Field(default=None, foreign_key="checkin.id")
    link: str | None = Field(default=None, max_length=500, description="the public chat message it is about, if any (never for an anonymous report)")
    quoted: str | None = Field(default=None, max_length=1000, description="the text of that message, if the reporter chose to quote it")
    request_key: str | None = Field(default=None, max_length=160, unique=True, description="the submission that filed it, so a retry files once")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ReportEvent(SQLModel, table=True):
    """One transition of a report: who moved it (null when anonymous), from what, to what."""

    __tablename__ = "report_event"

    id: int = primary_key()
    report_id: int = Field(foreign_key="failure_report.id", index=True)
    from_status: str | None = Field(default=None, max_length=16)
    to_status: str = Field(max_length=16)
    actor_id: int | None = Field(default=None, foreign_key="person.id")
    note: str | None = Field(default=None, max_length=3000)
    at: datetime = Field(sa_type=UTCDateTime)
