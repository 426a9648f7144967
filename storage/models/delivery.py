"""Storage layer: what the bot sends, and how it reaches people later.

`OutboundMessage` is a transactional outbox. A handler that decides to send something
adds a row in the same transaction as the state change that caused it, under a unique
key; the delivery loop claims rows, sends them and records where they landed. So a
crash loses nothing (the row is still there) and a retry or a second replica
duplicates nothing (the key is taken, the claim is held).

A sent message is also a view of its subject (a check-in, a report, a forum
session...). When a live one's subject changes, its `revision` goes up and it
becomes `stale`: the delivery loop claims it like a queued message, renders it from
the subject's current state and rewrites it in place. The revision it rendered is
compared when the update lands, so a change made meanwhile makes it stale again.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.columns import StrEnumColumn, UTCDateTime, primary_key, utcnow


class Subject(StrEnum):
    """What a message is about: the row its `subject_id` names."""

    CHECKIN = "checkin"
    REPORT = "report"
    REPORT_EVENT = "report_event"
    STORY = "story"
    FORUM_SESSION = "forum_session"
    ACTION_ITEM = "action_item"
    MODEL = "model"
    DIGEST = "digest"


class MessageKind(StrEnum):
    """Every kind of message the bot sends: its subject, and whether it is live.

    A live message shows its subject as it is now, so it is rewritten in place when
    the subject changes (an answered check-in loses its answer buttons). The others
    tell of one event (an owner's alert, a reporter's "your report is now triaged")
    and stay as they were sent.
    """

    subject: Subject
    live: bool

    def __new__(cls, value: str, subject: Subject, live: bool) -> MessageKind:
        member = str.__new__(cls, value)
        member._value_ = value
        member.subject, member.live = subject, live
        return member

    CHECKIN_ASK = "checkin.ask", Subject.CHECKIN, True
    CHECKIN_REMINDER = "checkin.reminder", Subject.CHECKIN, True
    CHECKIN_SNOOZED = "checkin.snoozed", Subject.CHECKIN, True
    CHECKIN_OWNER_ALERT = "checkin.owner_alert", Subject.CHECKIN, True
    CHECKIN_REASSIGNED = "checkin.reassigned", Subject.CHECKIN, False
    REPORT_NEW = "report.new", Subject.REPORT, True
    REPORT_ASSIGNED = "report.assigned", Subject.REPORT, True
    REPORT_CRITICAL = "report.critical", Subject.REPORT, True
    REPORT_CHANGED = "report.changed", Subject.REPORT_EVENT, False
    STORY_REVIEW = "story.review", Subject.STORY, True
    STORY_POST = "story.post", Subject.STORY, False
    STORY_FEATURED = "story.featured", Subject.STORY, False
    STORY_DECIDED = "story.decided", Subject.STORY, False
    FORUM_ANNOUNCE = "forum.announce", Subject.FORUM_SESSION, True
    FORUM_REMINDER = "forum.reminder", Subject.FORUM_SESSION, True
    FORUM_CANCELLED = "forum.cancelled", Subject.FORUM_SESSION, False
    FORUM_NOTES_PROMPT = "forum.notes_prompt", Subject.FORUM_SESSION, True
    FORUM_NOTES = "forum.notes", Subject.FORUM_SESSION, True
    ACTION_ITEM_ASSIGNED = "action_item.assigned", Subject.ACTION_ITEM, True
    ACTION_ITEM_FOLLOWUP = "action_item.followup", Subject.ACTION_ITEM, True
    MODEL_DEPRECATION = "model.deprecation", Subject.MODEL, True
    DIGEST_POST = "digest.post", Subject.DIGEST, False

    @classmethod
    def showing(cls, subject: Subject) -> tuple[MessageKind, ...]:
        """Return the live kinds that show a subject."""
        return tuple(kind for kind in cls if kind.live and kind.subject == subject)


class Delivery(StrEnum):
    """Where a message stands: waiting to go, out (and current), out but behind its subject, or given up on."""

    QUEUED = "queued"
    SENT = "sent"
    STALE = "stale"
    SKIPPED = "skipped"
    FAILED = "failed"


class OutboundMessage(SQLModel, table=True):
    """One message to one person or channel, from enqueue to delivery."""

    __tablename__ = "outbound_message"
    __table_args__ = (Index("ix_outbound_pending", "status", "not_before"), Index("ix_outbound_subject", "kind", "subject_id"))

    id: int = primary_key()
    key: str = Field(max_length=160, unique=True)
    kind: MessageKind = Field(sa_type=StrEnumColumn(MessageKind, 40))
    subject_id: int | None = None
    person_id: int | None = Field(default=None, foreign_key="person.id", index=True)
    channel: str | None = Field(default=None, max_length=128)
    thread_of_id: int | None = Field(default=None, foreign_key="outbound_message.id")
    status: Delivery = Field(default=Delivery.QUEUED, sa_type=StrEnumColumn(Delivery, 16))
    revision: int = Field(default=0, description="how many times its subject changed since it was queued; a live message shows the one it was rendered at")
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

    id: int = primary_key()
    platform: str = Field(max_length=16)
    scope: str = Field(max_length=16, description="'person' or 'channel'")
    scope_id: str = Field(max_length=256, description="a person's platform id, or a channel's id")
    name: str | None = Field(default=None, max_length=256, description="a channel's name, to find it by the name app.yaml gives")
    former_names: str | None = Field(default=None, description="the names a renamed channel had before, one a line, lower case: app.yaml may still use one")
    conversation_id: str | None = Field(default=None, max_length=256, index=True, description="the platform's id of the conversation")
    reference: str = Field(description="the platform's reference, as JSON")
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Digest(SQLModel, table=True):
    """A weekly digest, claimed once per channel and week before it is posted."""

    __table_args__ = (UniqueConstraint("channel", "week_key"),)

    id: int = primary_key()
    channel: str = Field(max_length=128)
    week_key: str = Field(max_length=16)
    covers_until: datetime | None = Field(default=None, sa_type=UTCDateTime, description="the cron moment it is for; its week ends here")
    status: str = Field(default="claimed", max_length=16)
    posted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
