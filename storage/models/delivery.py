"""Storage layer: what the bot sends, and how it reaches people later.

`OutboundMessage` is a transactional outbox. A handler that decides to send something
adds a row in the same transaction as the state change that caused it, under a unique
key; the delivery loop claims rows, sends them and records where they landed. So a
crash loses nothing (the row is still there) and a retry or a second replica
duplicates nothing (the key is taken, the claim is held).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.columns import UTCDateTime, utcnow


class OutboundMessage(SQLModel, table=True):
    """One message to one person or channel, from enqueue to delivery."""

    __tablename__ = "outbound_message"
    __table_args__ = (Index("ix_outbound_pending", "status", "not_before"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=160, unique=True)
    kind: str = Field(max_length=40)
    subject_id: int | None = None
    person_id: int | None = Field(default=None, foreign_key="person.id", index=True)
    channel: str | None = Field(default=None, max_length=128)
    thread_of_id: int | None = Field(default=None, foreign_key="outbound_message.id")
    replaces_id: int | None = Field(default=None, index=True, description="for an update: the sent message it rewrites in place")
    status: str = Field(default="queued", max_length=16)
    not_before: datetime = Field(sa_type=UTCDateTime)
    claimed_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    claimed_by: str | None = Field(default=None, max_length=64, description="the sender (a bot process) holding the claim")
    attempts: int = Field(default=0, description="how many times it was claimed; with claimed_by, it names one claim")
    last_error: str | None = Field(default=None, max_length=500)
    platform: str | None = Field(default=None, max_length=16)
    conversation_id: str | None = Field(default=None, max_length=256)
    message_id: str | None = Field(default=None, max_length=256)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ConversationReference(SQLModel, table=True):
    """Where the bot can reach a person or a channel later without being spoken to first."""

    __tablename__ = "conversation_reference"
    __table_args__ = (UniqueConstraint("platform", "scope", "scope_id"),)

    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=16)
    scope: str = Field(max_length=16, description="'person' or 'channel'")
    scope_id: str = Field(max_length=256, description="a person's platform id, or a channel's id")
    name: str | None = Field(default=None, max_length=256, description="a channel's name, to find it by the name app.yaml gives")
    conversation_id: str | None = Field(default=None, max_length=256, index=True, description="the platform's id of the conversation")
    reference: str = Field(description="the platform's reference, as JSON")
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Digest(SQLModel, table=True):
    """A weekly digest, claimed once per channel and week before it is posted."""

    __table_args__ = (UniqueConstraint("channel", "week_key"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=128)
    week_key: str = Field(max_length=16)
    covers_until: datetime | None = Field(default=None, sa_type=UTCDateTime, description="the cron moment it is for; its week ends here")
    status: str = Field(default="claimed", max_length=16)
    posted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
