"""Storage layer: what an open form carries that the platform cannot hold for it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Text
from sqlmodel import Field, SQLModel

from storage.columns import UTCDateTime, utcnow


class FormDraft(SQLModel, table=True):
    """An open form's state, kept here when it is too large for the platform (Slack's `private_metadata`)."""

    __tablename__ = "form_draft"

    key: str = Field(primary_key=True, max_length=64)
    state: str = Field(sa_type=Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
