"""Handlers layer: the one place for period arithmetic.

A `Cadence` ("every 2 weeks on Tuesday at 10:00") yields a sequence of occurrence
dates. Each occurrence opens a period that lasts until the next one, and its key is
the occurrence's calendar date, so the key is the same in every time zone: a
recipient who moves from Tokyo to Denver keeps the check-ins they already have.

The due instant is the occurrence date at the cadence's local time in the
recipient's time zone, converted to UTC. Wall times that do not exist (the hour
skipped when clocks go forward) resolve to the same distance past the gap, and
wall times that happen twice (clocks go back) resolve to the first of the two,
which is what `zoneinfo` does with `fold=0`.
"""

from __future__ import annotations

import calendar
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from handlers.text import quoted

WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKDAY_LONG = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
WORKDAYS = (0, 1, 2, 3, 4)
ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "last": -1}
UNITS = {"day": "day", "days": "day", "week": "week", "weeks": "week", "month": "month", "months": "month"}
# Week-based cadences count weeks from this Monday, so "every 2 weeks" means the same
# weeks for every model and every replica.
EPOCH_MONDAY = date(2024, 1, 1)


@dataclass(frozen=True)
class Cadence:
    """How often something recurs: every N days, weeks or months, on which days, at what time."""

    every: int = 2
    unit: str = "week"
    weekdays: tuple[int, ...] = (1,)
    nth: int | None = None
    day_of_month: int | None = None
    at: time = time(10, 0)
    anchor: date = field(default=EPOCH_MONDAY)

    def __post_init__(self) -> None:
        if self.every < 1:
            raise ValueError("'every' must be at least 1")
        if self.unit not in ("day", "week", "month"):
            raise ValueError(f"unknown unit {self.unit!r}: use days, weeks or months")
        if not self.weekdays and self.day_of_month is None:
            raise ValueError("a cadence needs at least one weekday or a day of the month")

    @classmethod
    def parse(cls, every: str | int, on: str | int | list[str] | None = None, at: str = "10:00", anchor: date | None = None) -> Cadence:
        """Read a cadence as app.yaml writes it; raise ValueError with a readable reason."""
        count, unit = parse_every(every)
        weekdays: tuple[int, ...] = WORKDAYS if unit == "day" else (1,)
        nth = day_of_month = None
        if on is not None:
            weekdays, nth, day_of_month = parse_on(on, unit)
        return cls(
            every=count,
            unit=unit,
            weekdays=weekdays,
            nth=nth,
            day_of_month=day_of_month,
            at=parse_clock(at),
            anchor=_monday(anchor) if anchor and unit == "week" else (anchor or EPOCH_MONDAY),
        )

    def describe(self) -> str:
        """Say the cadence in words, e.g. 'every 2 weeks on Tuesday at 10:00'."""
        span = {1: self.unit}.get(self.every, f"{self.every} {self.unit}s")
        if self.unit == "month" and self.day_of_month:
            on = f"on day {self.day_of_month}"
        elif self.unit == "month":
            ordinal = {v: k for k, v in ORDINALS.items()}[self.nth or 1]
            on = f"on the {ordinal} {WEEKDAY_LONG[self.weekdays[0]]}"
        elif self.weekdays == WORKDAYS:
            on = "on workdays"
        else:
            on = "on " + ", ".join(WEEKDAY_LONG[d] for d in self.weekdays)
        return f"every {span} {on} at {self.at:%H:%M}"

    def on_text(self) -> str:
        """Say the cadence's days as app.yaml's `on` writes them, e.g. 'first tue', '15' or 'mon, thu'."""
        if self.unit == "month" and self.day_of_month:
            return str(self.day_of_month)
        if self.unit == "month":
            return f"{ {v: k for k, v in ORDINALS.items()}[self.nth or 1] } {WEEKDAY_NAMES[self.weekdays[0]]}"
        return ", ".join(WEEKDAY_NAMES[d] for d in self.weekdays)

    def to_json(self) -> str:
        """Serialise for storage beside a model or a forum."""
        return json.dumps(
            {
                "every": self.every,
                "unit": self.unit,
                "weekdays": list(self.weekdays),
                "nth": self.nth,
                "day_of_month": self.day_of_month,
                "at": self.at.strftime("%H:%M"),
                "anchor": self.anchor.isoformat(),
            },
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, raw: str) -> Cadence:
        """Read a cadence written by `to_json`."""
        data = json.loads(raw)
        return cls(
            every=data["every"],
            unit=data["unit"],
            weekdays=tuple(data["weekdays"]),
            nth=data["nth"],
            day_of_month=data["day_of_month"],
            at=parse_clock(data["at"]),
            anchor=date.fromisoformat(data["anchor"]),
        )

    def occurs_on(self, day: date) -> bool:
        """Tell whether `day` is an occurrence date."""
        if self.unit == "month":
            return self._month_in_step(day.year, day.month) and day == self._month_date(day.year, day.month)
        if day.weekday() not in self.weekdays:
            return False
        if self.unit == "day":
            return (day - self.anchor).days % self.every == 0
        return ((day - self.anchor).days // 7) % self.every == 0

    def latest_on_or_before(self, day: date) -> date:
        """Return the last occurrence date on or before `day`."""
        if self.unit == "month":
            year, month = day.year, day.month
            for _ in range(12 * self.every + 2):
                if self._month_in_step(year, month):
                    candidate = self._month_date(year, month)
                    if candidate <= day:
                        return candidate
                year, month = (year, month - 1) if month > 1 else (year - 1, 12)
        else:
            for back in range(7 * self.every + 7):
                candidate = day - timedelta(days=back)
                if self.occurs_on(candidate):
                    return candidate
        raise AssertionError(f"{self} never occurs")  # __post_init__ makes this unreachable

    def next_after(self, day: date) -> date:
        """Return the first occurrence date strictly after `day`."""
        if self.unit == "month":
            year, month = day.year, day.month
            for _ in range(12 * self.every + 2):
                if self._month_in_step(year, month):
                    candidate = self._month_date(year, month)
                    if candidate > day:
                        return candidate
                year, month = (year, month + 1) if month < 12 else (year + 1, 1)
        else:
            for ahead in range(1, 7 * self.every + 8):
                candidate = day + timedelta(days=ahead)
                if self.occurs_on(candidate):
                    return candidate
        raise AssertionError(f"{self} never occurs")

    def shortest_gap_days(self) -> int:
        """Return the fewest days between two consecutive occurrences (over enough of them to see every pattern)."""
        gaps, day = [], self.next_after(self.anchor)
        for _ in range(60):
            following = self.next_after(day)
            gaps.append((following - day).days)
            day = following
        return min(gaps)

    def _month_in_step(self, year: int, month: int) -> bool:
        return ((year - self.anchor.year) * 12 + month - self.anchor.month) % self.every == 0

    def _month_date(self, year: int, month: int) -> date:
        last = calendar.monthrange(year, month)[1]
        if self.day_of_month is not None:
            return date(year, month, min(self.day_of_month, last))
        weekday = self.weekdays[0]
        if (self.nth or 1) > 0:
            first = date(year, month, 1)
            return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * ((self.nth or 1) - 1))
        final = date(year, month, last)
        return final - timedelta(days=(final.weekday() - weekday) % 7)


@dataclass(frozen=True)
class Period:
    """One period of a cadence as seen from one time zone."""

    key: str
    starts_on: date
    due_at: datetime
    ends_at: datetime


def local_instant(day: date, at: time, tz: ZoneInfo) -> datetime:
    """Return `day` at wall time `at` in `tz`, as an aware UTC datetime (DST-safe)."""
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC)


def period_starting(cadence: Cadence, day: date, tz: ZoneInfo) -> Period:
    """Return the period that the occurrence on `day` opens."""
    return Period(
        key=day.isoformat(),
        starts_on=day,
        due_at=local_instant(day, cadence.at, tz),
        ends_at=local_instant(cadence.next_after(day), cadence.at, tz),
    )


def current_period(cadence: Cadence, now: datetime, tz: ZoneInfo) -> Period:
    """Return the period running at `now` in `tz`: the latest one whose due instant has passed."""
    day = cadence.latest_on_or_before(now.astimezone(tz).date())
    period = period_starting(cadence, day, tz)
    if period.due_at > now:
        period = period_starting(cadence, cadence.latest_on_or_before(day - timedelta(days=1)), tz)
    return period


def next_due_after(cadence: Cadence, now: datetime, tz: ZoneInfo) -> datetime:
    """Return the first due instant strictly after `now` in `tz`."""
    day = cadence.latest_on_or_before(now.astimezone(tz).date())
    while (due := local_instant(day, cadence.at, tz)) <= now:
        day = cadence.next_after(day)
    return due


def next_workday(day: date, away_until: date | None = None) -> date:
    """Return the first workday (Monday to Friday) on or after `day`, and after `away_until` when given."""
    if away_until is not None and away_until >= day:
        day = away_until + timedelta(days=1)
    while day.weekday() not in WORKDAYS:
        day += timedelta(days=1)
    return day


def previous_workday(day: date) -> date:
    """Return the last workday (Monday to Friday) on or before `day`."""
    while day.weekday() not in WORKDAYS:
        day -= timedelta(days=1)
    return day


def zone(name: str) -> ZoneInfo:
    """Return the time zone called `name`, or raise ValueError naming it."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {quoted(name)}: use an IANA name such as Europe/Berlin") from exc


def parse_clock(text: str) -> time:
    """Read a wall-clock time such as '10:00' or '9:30'."""
    match = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*", str(text))
    if not match or int(match[1]) > 23 or int(match[2]) > 59:
        raise ValueError(f"invalid time {quoted(text)}: use HH:MM, e.g. 10:00")
    return time(int(match[1]), int(match[2]))


def parse_duration(text: str | int) -> timedelta:
    """Read a duration such as '3d', '2h', '30m', '1w' or '1d 12h'."""
    parts = re.findall(r"(\d+)\s*([wdhm])", str(text).lower())
    leftover = re.sub(r"(\d+)\s*([wdhm])", "", str(text).lower()).strip()
    if not parts or leftover:
        raise ValueError(f"invalid duration {quoted(text)}: use e.g. 30m, 2h, 3d or 1w")
    unit = {"w": timedelta(weeks=1), "d": timedelta(days=1), "h": timedelta(hours=1), "m": timedelta(minutes=1)}
    return sum((int(n) * unit[u] for n, u in parts), timedelta())


def parse_days(text: str | int) -> int:
    """Read a notice period in whole days, such as '7d' or '2w'."""
    span = parse_duration(text)
    if span < timedelta(days=1) or span % timedelta(days=1):
        raise ValueError(f"invalid notice {quoted(text)}: use whole days, e.g. 3d, 7d or 2w")
    return span.days


def check_notice(days: int, cadence: Cadence) -> None:
    """Raise ValueError unless an announcement `days` ahead goes out after the occurrence before (else it would misfire)."""
    gap = cadence.shortest_gap_days()
    if days > gap:
        raise ValueError(
            f"announcing {days} days ahead is longer than the time between two forums ({cadence.describe()}, as little as {gap} days apart): use at most {gap}d"
        )


def parse_meeting_length(text: str | int) -> int:
    """Read how long a meeting lasts, such as '60m' or '1h 30m', in minutes (5 minutes to 8 hours)."""
    span = parse_duration(text)
    if not timedelta(minutes=5) <= span <= timedelta(hours=8):
        raise ValueError(f"invalid duration {quoted(text)}: a forum lasts from 5m to 8h, e.g. 60m or 1h 30m")
    return int(span.total_seconds() // 60)


def parse_every(every: str | int) -> tuple[int, str]:
    match = re.fullmatch(r"\s*(\d+)?\s*([a-z]+)\s*", str(every).lower())
    if isinstance(every, int) or not match or match[2] not in UNITS:
        raise ValueError(f"invalid 'every' {quoted(every)}: use e.g. '2 weeks', 'week', '1 month' or '3 days'")
    return int(match[1] or 1), UNITS[match[2]]


def _weekday(name: str) -> int:
    key = name.strip().lower()[:3]
    if key not in WEEKDAY_NAMES:
        raise ValueError(f"unknown weekday {quoted(name)}: use mon, tue, wed, thu, fri, sat or sun")
    return WEEKDAY_NAMES.index(key)


def parse_on(on: str | int | list[str], unit: str) -> tuple[tuple[int, ...], int | None, int | None]:
    if unit == "month":
        if isinstance(on, int) or str(on).strip().isdigit():
            day = int(str(on))
            if not 1 <= day <= 31:
                raise ValueError(f"invalid day of month {quoted(on)}: use 1 to 31")
            return (), None, day
        words = str(on).lower().split()
        if len(words) != 2 or words[0] not in ORDINALS:
            raise ValueError(f"invalid 'on' {quoted(on)} for a monthly cadence: use e.g. 'first tue', 'last fri' or 15")
        return (_weekday(words[1]),), ORDINALS[words[0]], None
    names = on if isinstance(on, list) else re.split(r"[,\s]+", str(on).strip())
    if not names or any(not str(n).strip() for n in names):
        raise ValueError(f"invalid 'on' {quoted(on)}: list weekdays, e.g. [tue] or [mon, thu]")
    return tuple(sorted({_weekday(str(n)) for n in names})), None, None


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())
