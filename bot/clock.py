"""Bot layer: the clock that the scheduler, the shell and the tests read.

Handlers never call `datetime.now()`: they get the time in their `Context`, taken
from one of these, so the shell can move time forward and tests can pin it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    """The real time, in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that moves only when told to."""

    def __init__(self, start: datetime):
        if start.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def set(self, moment: datetime) -> None:
        """Jump to `moment`, which must not be in the past."""
        moment = moment.astimezone(UTC)
        if moment < self._now:
            raise ValueError("the clock does not go backwards")
        self._now = moment

    def advance(self, delta: timedelta) -> datetime:
        """Move forward by `delta` and return the new time."""
        self.set(self._now + delta)
        return self._now
