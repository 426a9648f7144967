"""Handlers layer: the portfolio as the operator declares it in app.yaml.

These pydantic models are the schema of app.yaml. `bot.config` reads the file into
them (and turns any error into file, line and field); `handlers.registry` syncs them
into the database.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from handlers.periods import Cadence, check_notice, parse_clock, parse_days, parse_duration, parse_every, parse_meeting_length, parse_on, zone

Key = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$", description="lowercase letters, digits, - _ .")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_zone(value: str) -> str:
    zone(value)
    return value


class CadenceDecl(Strict):
    every: str = "2 weeks"
    on: str | int | list[str] | None = None
    at: str = "10:00"
    starting: date | None = None

    @field_validator("every")
    @classmethod
    def _every(cls, value: str) -> str:
        parse_every(value)
        return value

    @field_validator("on")
    @classmethod
    def _on(cls, value: str | int | list[str] | None, info: ValidationInfo) -> str | int | list[str] | None:
        if value is not None and "every" in info.data:
            parse_on(value, parse_every(info.data["every"])[1])
        return value

    @field_validator("at")
    @classmethod
    def _at(cls, value: str) -> str:
        parse_clock(value)
        return value

    def to_cadence(self) -> Cadence:
        """Return the cadence this declares."""
        return Cadence.parse(self.every, self.on, self.at, self.starting)


class WorkspaceDecl(Strict):
    timezone: str = "UTC"

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return _check_zone(value)


class CheckinsDecl(CadenceDecl):
    remind_after: str = "2d"
    reminders: int = Field(default=2, ge=0, le=10)

    @field_validator("remind_after")
    @classmethod
    def _duration(cls, value: str) -> str:
        parse_duration(value)
        return value

    @property
    def reminder_delay(self) -> timedelta:
        return parse_duration(self.remind_after)


class DigestDecl(Strict):
    cron: str = "0 9 * * mon"
    channel: str | None = None

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        from apscheduler.triggers.cron import CronTrigger

        try:
            CronTrigger.from_crontab(value)
        except ValueError as exc:
            raise ValueError(f"invalid cron {value!r} ({exc}): use five fields, e.g. '0 9 * * mon'") from exc
        return value


class StoriesDecl(Strict):
    channel: str | None = Field(default=None, description="where approved stories are posted; the digest channel when unset")


class ForumDecl(CadenceDecl):
    """A unit's recurring review forum: the cadence of its meetings, their length and notice."""

    every: str = "1 month"
    on: str | int | list[str] | None = "first tue"
    at: str = "15:00"
    duration: str = "60m"
    announce: str = Field(default="7d", description="how many days before the forum its announcement goes out")

    @field_validator("duration")
    @classmethod
    def _length(cls, value: str) -> str:
        parse_meeting_length(value)
        return value

    @field_validator("announce")
    @classmethod
    def _notice(cls, value: str, info: ValidationInfo) -> str:
        days = parse_days(value)
        if {"every", "on", "at"} <= info.data.keys():  # else the cadence has an error of its own
            check_notice(days, Cadence.parse(info.data["every"], info.data["on"], info.data["at"]))
        return value


class PersonDecl(Strict):
    key: Key
    name: str = Field(min_length=1, max_length=200)
    email: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    timezone: str | None = None
    slack: str | None = Field(default=None, pattern=r"^[UW][A-Z0-9]{2,}$", description="Slack user id, e.g. U024BE7LH")
    teams: str | None = Field(default=None, min_length=1, description="Teams AAD object id")

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        return value if value is None else _check_zone(value)


class UnitDecl(Strict):
    name: str = Field(min_length=1, max_length=120)
    channel: str | None = None
    timezone: str | None = None
    contacts: list[Key] = []
    forum: ForumDecl | None = None

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        return value if value is None else _check_zone(value)


class ModelDecl(Strict):
    key: Key
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=2000)
    unit: str
    owner: Key
    stakeholders: list[Key] = []
    deployed: date | None = None
    cadence: CadenceDecl | None = None
    kpi: str | None = Field(default=None, max_length=300)


class PortfolioDecl(Strict):
    """Everything app.yaml declares."""

    workspace: WorkspaceDecl = WorkspaceDecl()
    checkins: CheckinsDecl = CheckinsDecl()
    digest: DigestDecl = DigestDecl()
    stories: StoriesDecl = StoriesDecl()
    leads: list[Key] = []
    units: list[UnitDecl] = []
    people: list[PersonDecl] = []
    models: list[ModelDecl] = []


# Where a problem is in app.yaml, as pydantic writes it: ("models", 2, "owner").
Location = tuple[str | int, ...]


def find_reference_errors(decl: PortfolioDecl) -> list[tuple[Location, str]]:
    """Return (location, message) for every duplicate or dangling reference in a declaration."""
    problems: list[tuple[Location, str]] = []
    people = {p.key for p in decl.people}
    units = {u.name.lower() for u in decl.units}

    def known_people() -> str:
        listed = sorted(people)
        return ", ".join(listed[:8]) + (" …" if len(listed) > 8 else "") if listed else "none"

    def duplicates(items: Sequence[BaseModel], name: str, attr: str) -> None:
        seen: dict[str, int] = {}
        for i, item in enumerate(items):
            value = getattr(item, attr)
            value = value.lower() if isinstance(value, str) else value
            if value is None:
                continue
            if value in seen:
                problems.append(((name, i, attr), f"duplicate {attr} {getattr(item, attr)!r} (also at {name}[{seen[value]}])"))
            seen.setdefault(value, i)

    duplicates(decl.people, "people", "key")
    duplicates(decl.people, "people", "email")
    duplicates(decl.people, "people", "slack")
    duplicates(decl.units, "units", "name")
    duplicates(decl.models, "models", "key")

    def person(loc: Location, key: str) -> None:
        if key not in people:
            problems.append((loc, f"unknown person {key!r}; declared people: {known_people()}"))

    for i, key in enumerate(decl.leads):
        person(("leads", i), key)
    for u, unit in enumerate(decl.units):
        for i, key in enumerate(unit.contacts):
            person(("units", u, "contacts", i), key)
    for m, model in enumerate(decl.models):
        if model.unit.lower() not in units:
            names = ", ".join(sorted(u.name for u in decl.units)) or "none"
            problems.append((("models", m, "unit"), f"unknown unit {model.unit!r}; declared units: {names}"))
        person(("models", m, "owner"), model.owner)
        for i, key in enumerate(model.stakeholders):
            person(("models", m, "stakeholders", i), key)
    return problems


SECRET_KEYS = re.compile(r"(token|secret|password|app_id|tenant|database_url)", re.IGNORECASE)
