"""Period arithmetic: cadence → period key → due instant, across DST and time zones."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handlers.periods import Cadence, current_period, local_instant, next_due_after, parse_clock, parse_duration, period_starting, zone

ZONES = [
    "UTC",
    "Europe/London",
    "Europe/Berlin",
    "America/New_York",
    "America/Los_Angeles",
    "Asia/Tokyo",
    "Asia/Kolkata",
    "Australia/Sydney",
    "Pacific/Auckland",
    "America/St_Johns",
    "Pacific/Chatham",
]
cadences = st.builds(
    Cadence,
    every=st.integers(1, 4),
    unit=st.sampled_from(["day", "week", "month"]),
    weekdays=st.lists(st.integers(0, 6), min_size=1, max_size=3, unique=True).map(lambda d: tuple(sorted(d))),
    nth=st.sampled_from([None, 1, 2, -1]),
    at=st.times().map(lambda t: time(t.hour, t.minute)),
)
instants = st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2032, 12, 31), timezones=st.just(UTC))


def test_every_two_weeks_on_tuesday():
    cadence = Cadence.parse("2 weeks", ["tue"], "10:00")
    occurrences = [d for d in (date(2026, 3, 1) + timedelta(days=i) for i in range(60)) if cadence.occurs_on(d)]
    assert all(d.weekday() == 1 for d in occurrences)
    assert [(b - a).days for a, b in pairwise(occurrences)] == [14] * (len(occurrences) - 1)


def test_first_tuesday_of_the_month():
    cadence = Cadence.parse("month", "first tue", "15:00")
    assert cadence.next_after(date(2026, 3, 3)) == date(2026, 4, 7)
    assert cadence.latest_on_or_before(date(2026, 3, 31)) == date(2026, 3, 3)
    assert Cadence.parse("1 month", "last fri").next_after(date(2026, 1, 1)) == date(2026, 1, 30)
    assert Cadence.parse("1 month", 31).next_after(date(2026, 2, 1)) == date(2026, 2, 28)


def test_due_instant_is_the_local_time_of_the_recipient():
    cadence = Cadence.parse("week", ["tue"], "10:00")
    period = period_starting(cadence, date(2026, 3, 3), zone("America/New_York"))
    assert period.due_at == datetime(2026, 3, 3, 15, 0, tzinfo=UTC)
    tokyo = period_starting(cadence, date(2026, 3, 3), zone("Asia/Tokyo"))
    assert tokyo.due_at == datetime(2026, 3, 3, 1, 0, tzinfo=UTC)
    assert period.key == tokyo.key == "2026-03-03"


def test_spring_forward_gap_moves_later_and_fall_back_takes_the_first():
    berlin = zone("Europe/Berlin")
    # 29 March 2026, 02:30 does not exist in Berlin: it resolves to 03:30 CEST (01:30 UTC).
    assert local_instant(date(2026, 3, 29), time(2, 30), berlin) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    # 25 October 2026, 02:30 happens twice: the first (CEST, 00:30 UTC) is taken.
    assert local_instant(date(2026, 10, 25), time(2, 30), berlin) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)


def test_weekly_due_time_keeps_the_wall_clock_across_dst():
    cadence = Cadence.parse("week", ["sun"], "10:00")
    ny = zone("America/New_York")
    before = period_starting(cadence, date(2026, 3, 1), ny)
    after = period_starting(cadence, date(2026, 3, 8), ny)  # clocks went forward that morning
    assert before.due_at.hour == 15 and after.due_at.hour == 14
    assert before.ends_at == after.due_at


@settings(max_examples=300, deadline=None)
@given(cadence=cadences, now=instants, name=st.sampled_from(ZONES))
def test_current_period_contains_now_and_is_stable(cadence, now, name):
    tz = zone(name)
    period = current_period(cadence, now, tz)
    assert period.due_at <= now < period.ends_at
    assert cadence.occurs_on(period.starts_on)
    assert period.key == period.starts_on.isoformat()
    # Any instant inside the period sees the same period: one check-in per period.
    inside = period.due_at + (period.ends_at - period.due_at) / 2
    assert current_period(cadence, inside, tz).key == period.key
    assert current_period(cadence, period.due_at, tz).key == period.key
    assert next_due_after(cadence, now, tz) == period.ends_at


@settings(max_examples=200, deadline=None)
@given(cadence=cadences, now=instants, name=st.sampled_from(ZONES))
def test_due_instant_shows_the_wall_clock_time_or_the_time_just_after_a_gap(cadence, now, name):
    tz = zone(name)
    period = current_period(cadence, now, tz)
    local = period.due_at.astimezone(tz)
    assert local.date() == period.starts_on
    wanted = datetime.combine(period.starts_on, cadence.at)
    shown = local.replace(tzinfo=None)
    assert timedelta(0) <= shown - wanted <= timedelta(hours=1)


@settings(max_examples=100, deadline=None)
@given(cadence=cadences)
def test_cadence_survives_storage(cadence):
    assert Cadence.from_json(cadence.to_json()) == cadence


@pytest.mark.parametrize(
    "every, on, message",
    [
        ("fortnight", None, "invalid 'every' “fortnight”"),
        ("0 weeks", None, "'every' must be at least 1"),
        ("2 weeks", ["tuesday", "funday"], "unknown weekday “funday”"),
        ("1 month", "fifth tue", "invalid 'on' “fifth tue” for a monthly cadence"),
        ("1 month", 32, "invalid day of month “32”"),
    ],
)
def test_bad_cadences_say_what_is_wrong(every, on, message):
    with pytest.raises(ValueError, match=message):
        Cadence.parse(every, on)


def test_clock_and_duration_parsing():
    assert parse_clock("9:05") == time(9, 5)
    assert parse_duration("1d 12h") == timedelta(hours=36)
    assert parse_duration("30m") == timedelta(minutes=30)
    for bad in ("25:00", "10", "ten"):
        with pytest.raises(ValueError, match="invalid time"):
            parse_clock(bad)
    for bad in ("3 days", "", "5x"):
        with pytest.raises(ValueError, match="invalid duration"):
            parse_duration(bad)
