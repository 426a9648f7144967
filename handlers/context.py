"""Handlers layer: who is acting, where, when, and under which policy."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from handlers.periods import Cadence
from storage.models import MessageKind, Person


@dataclass(frozen=True)
class Policy:
    """The workspace-wide settings that the handlers need, taken from app.yaml."""

    timezone: str = "UTC"
    default_cadence: Cadence = field(default_factory=Cadence)
    reminder_after: timedelta = timedelta(days=2)
    max_reminders: int = 2
    digest_cron: str = "0 9 * * mon"
    digest_channel: str | None = None
    stories_channel: str | None = None
    platforms: tuple[str, ...] = ()
    """The chat platforms the bot runs on (none in the shell)."""


@dataclass(frozen=True)
class MessageRef:
    """Where a sent message landed (a platform, its conversation, its id there), so it can be updated or replied to later."""

    platform: str
    conversation_id: str
    message_id: str


@dataclass(frozen=True)
class Context:
    """The person acting, the platform and conversation they act in, and the time."""

    actor: Person
    now: datetime
    platform: str = "shell"
    conversation: str | None = None
    policy: Policy = field(default_factory=Policy)
    request_id: str | None = None
    origin: MessageRef | None = None
    """The message whose button was pressed, when the platform says which: a reply in place rewrites it."""


@dataclass(frozen=True)
class Outgoing:
    """An outbox message being rendered: what it is, about which subject, for whom, and whether it rewrites a copy already out."""

    kind: MessageKind
    subject_id: int
    recipient: Person | None
    policy: Policy
    now: datetime
    update: bool = False
    """True for a live message whose subject changed: show the subject as it is now, never None for a subject that still exists."""
