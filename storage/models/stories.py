"""Storage layer: success stories and the people they credit."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from storage.columns import UTCDateTime, primary_key, utcnow


class SuccessStory(SQLModel, table=True):
    """What a model changed for the business, told by the people who saw it."""

    __tablename__ = "success_story"

    id: int = primary_key()
    model_id: int = Field(foreign_key="ml_model.id", index=True)
    submitted_by_id: int | None = Field(default=None, foreign_key="person.id")
    headline: str = Field(max_length=200)
    business_change: str = Field(max_length=3000)
    impact_metric: str | None = Field(default=None, max_length=200)
    impact_value: str | None = Field(default=None, max_length=100)
    status: str = Field(default="pending", max_length=16)
    decided_by_id: int | None = Field(default=None, foreign_key="person.id")
    posted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    source_checkin_id: int | None = Field(default=None, foreign_key="checkin.id")
    decline_reason: str | None = Field(default=None, max_length=1000)
    request_key: str | None = Field(default=None, max_length=160, unique=True, description="the submission that created it, so a retry creates once")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class StoryContributor(SQLModel, table=True):
    """A person credited in a story."""

    __tablename__ = "story_contributor"

    story_id: int = Field(foreign_key="success_story.id", primary_key=True)
    person_id: int = Field(foreign_key="person.id", primary_key=True)
