"""Handlers layer: how times, rates and names read in messages."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from zoneinfo import ZoneInfo


def when(moment: datetime | None, tz: ZoneInfo, *, yours: bool = False) -> str:
    """Format an instant in a time zone and say which, e.g. 'Tue 24 Nov 2026, 10:00 (Europe/Berlin)'.

    A time never stands without its zone: `yours` says "your time" instead, for a
    time shown in the reader's own zone.
    """
    if moment is None:
        return "never"
    local = moment.astimezone(tz)
    return f"{local:%a} {local.day} {local:%b %Y, %H:%M} ({'your time' if yours else tz.key})"


def plural(n: int, noun: str, nouns: str | None = None) -> str:
    """Count a noun in words, e.g. '1 stakeholder', '2 stakeholders', '3 check-ins are' (`nouns` when the plural is not noun + 's')."""
    return f"{n} {noun if n == 1 else nouns or noun + 's'}"


def day(value: date | None) -> str:
    """Format a date, e.g. 'Thu 24 Dec 2026'."""
    return "—" if value is None else f"{value:%a} {value.day} {value:%b %Y}"


def relative_day(moment: datetime, now: datetime, tz: ZoneInfo) -> str:
    """Say which day an instant falls on, seen from `now` in `tz`: 'today', 'tomorrow' or e.g. 'on Mon 7 Dec 2026'."""
    ahead = (moment.astimezone(tz).date() - now.astimezone(tz).date()).days
    return {0: "today", 1: "tomorrow"}.get(ahead, f"on {day(moment.astimezone(tz).date())}")


def ago(moment: datetime | None, now: datetime) -> str:
    """Say how long ago an instant was, e.g. '3 days ago'."""
    if moment is None:
        return "never"
    seconds = (now - moment).total_seconds()
    future = seconds < 0
    seconds = abs(seconds)
    for size, unit in ((86400 * 7, "week"), (86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds >= size:
            text = plural(int(seconds // size), unit)
            return f"in {text}" if future else f"{text} ago"
    return "just now"


def either(names: Sequence[str]) -> str:
    """Offer a choice in words, e.g. 'A', 'A or B', 'A, B or C'."""
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def too_long(text: str | None, limit: int) -> str | None:
    """Return the error for form text over `limit` characters, or None when it fits."""
    if text and len(text) > limit:
        return f"Please keep this under {limit} characters (it has {len(text)})."
    return None


QUOTE_LIMIT = 60


def quoted(value: object, limit: int = QUOTE_LIMIT) -> str:
    """Quote a user's value in an error as they typed it (not as a Python repr), shortened so the error stays short."""
    value = " ".join(str(value).split())
    return f"“{value if len(value) <= limit else value[: limit - 1] + '…'}”"


def percent(rate: float | None) -> str:
    """Format a rate in [0, 1] as a percentage, or a dash when unknown."""
    return "—" if rate is None else f"{rate:.0%}"


def unstorable(text: str) -> bool:
    """Tell whether text holds what no database can store: a NUL character, or half of a surrogate pair (a broken emoji)."""
    if "\x00" in text:
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False
