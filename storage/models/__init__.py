"""Storage layer: every table of the domain, importable from one place.

Importing this package registers all tables on `SQLModel.metadata`, which is what
Alembic compares the migrations against.
"""

from storage.models.checkins import CheckIn, CheckInAnswer
from storage.models.delivery import ConversationReference, Delivery, Digest, MessageKind, OutboundMessage, Subject
from storage.models.forms import FormDraft
from storage.models.forums import ActionItem, AgendaItem, ForumRSVP, ForumSession, ForumTopic, ReviewForum
from storage.models.people import BusinessUnit, Person, PlatformIdentity, UnitContact
from storage.models.portfolio import MLModel, ModelHealthEvent, Stakeholder, StakeholderChoice
from storage.models.reports import FailureReport, ReportEvent
from storage.models.stories import StoryContributor, SuccessStory

__all__ = [
    "ActionItem",
    "AgendaItem",
    "BusinessUnit",
    "CheckIn",
    "CheckInAnswer",
    "ConversationReference",
    "Delivery",
    "Digest",
    "FailureReport",
    "FormDraft",
    "ForumRSVP",
    "ForumSession",
    "ForumTopic",
    "MLModel",
    "MessageKind",
    "ModelHealthEvent",
    "OutboundMessage",
    "Person",
    "PlatformIdentity",
    "ReportEvent",
    "ReviewForum",
    "Stakeholder",
    "StakeholderChoice",
    "Subject",
    "StoryContributor",
    "SuccessStory",
    "UnitContact",
]
