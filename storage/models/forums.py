"""Storage layer: review forums, their sessions, agendas, RSVPs and action items."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.columns import UTCDateTime, primary_key, utcnow


class ReviewForum(SQLModel, table=True):
    """A recurring meeting between the ML team and one business unit."""

    __tablename__ = "review_forum"

    id: int = primary_key()
    unit_id: int = Field(foreign_key="businessunit.id", unique=True, description="one forum series per unit")
    schedule: str = Field(max_length=300, description="JSON cadence, e.g. first Tuesday monthly")
    duration_minutes: int = 60
    announce_days_ahead: int = 7
    active: bool = True
    from_config: bool = Field(default=True, description="declared in app.yaml (False: scheduled with /mlforum)")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ForumSession(SQLModel, table=True):
    """One occurrence of a forum."""

    __tablename__ = "forum_session"
    __table_args__ = (UniqueConstraint("forum_id", "starts_at"),)

    id: int = primary_key()
    forum_id: int = Field(foreign_key="review_forum.id")
    starts_at: datetime = Field(sa_type=UTCDateTime, index=True)
    ends_at: datetime = Field(sa_type=UTCDateTime)
    timezone: str = Field(default="UTC", max_length=64, description="the unit's zone when it was scheduled; the invite's TZID")
    status: str = Field(default="scheduled", max_length=16, description="scheduled, held, missed (ended unannounced) or cancelled")
    announced_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reminded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    notes: str | None = Field(default=None, max_length=10000)
    notes_by_id: int | None = Field(default=None, foreign_key="person.id")
    notes_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    cancelled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    agenda_hash: str | None = Field(default=None, max_length=64, description="of the agenda last announced, to see when it changes")
    agenda_built_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class AgendaItem(SQLModel, table=True):
    """A line of a forum's agenda, and the record it came from."""

    __tablename__ = "agenda_item"

    id: int = primary_key()
    session_id: int = Field(foreign_key="forum_session.id", index=True)
    kind: str = Field(max_length=24)
    ref_id: int | None = None
    title: str = Field(max_length=500)
    position: int = 0


class ForumTopic(SQLModel, table=True):
    """A topic someone proposed for a unit's next forum."""

    __tablename__ = "forum_topic"

    id: int = primary_key()
    unit_id: int = Field(foreign_key="businessunit.id", index=True)
    proposed_by_id: int | None = Field(default=None, foreign_key="person.id")
    text: str = Field(max_length=1000)
    session_id: int | None = Field(default=None, foreign_key="forum_session.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ForumRSVP(SQLModel, table=True):
    """A person's answer to a forum invitation; one per person and session."""

    __tablename__ = "forum_rsvp"

    session_id: int = Field(foreign_key="forum_session.id", primary_key=True)
    person_id: int = Field(foreign_key="person.id", primary_key=True)
    response: str = Field(max_length=16)
    at: datetime = Field(sa_type=UTCDateTime)


class ActionItem(SQLModel, table=True):
    """Something agreed at a forum, with an owner and a due date, followed up until done."""

    __tablename__ = "action_item"
    __table_args__ = (UniqueConstraint("session_id", "owner_id", "text"), Index("ix_action_item_followup", "next_followup_at"))

    id: int = primary_key()
    session_id: int = Field(foreign_key="forum_session.id", index=True)
    owner_id: int = Field(foreign_key="person.id", index=True)
    text: str = Field(max_length=1000)
    due_on: date | None = None
    done_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    done_by_id: int | None = Field(default=None, foreign_key="person.id")
    last_followup_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    next_followup_at: datetime | None = Field(default=None, sa_type=UTCDateTime, description="when its owner is next reminded; null once done")
    followups: int = 0
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
