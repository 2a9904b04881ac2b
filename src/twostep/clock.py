"""Time as a dependency.

Nothing below the services reads the clock: the OTP core takes ``at=`` and services take a
:class:`Clock`. Tests inject a :class:`ManualClock` and move time forward instead of sleeping.
"""

from __future__ import annotations

import time
from datetime import MAXYEAR, UTC, datetime, timedelta
from typing import Protocol

MIN_UTC = datetime.min.replace(tzinfo=UTC)
MAX_UTC = datetime.max.replace(tzinfo=UTC)


def as_utc(value: datetime) -> datetime:
    """The aware ``value`` in UTC; past either end of the calendar, that end.

    ``9999-12-31T23:59-01:00`` is in year 10000 in UTC: a filter typed at the edge of the
    calendar still means "everything up to the end", never an overflow.

    >>> from datetime import timedelta, timezone
    >>> as_utc(datetime(9999, 12, 31, 23, 59, tzinfo=timezone(-timedelta(hours=1)))) == MAX_UTC
    True
    >>> as_utc(datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14)))) == MIN_UTC
    True
    """
    try:
        return value.astimezone(UTC)
    except OverflowError:
        return MAX_UTC if value.year == MAXYEAR else MIN_UTC


class Clock(Protocol):
    """Source of the current time, always timezone-aware UTC."""

    def now(self) -> datetime: ...


class SystemClock:
    """The real wall clock."""

    def now(self) -> datetime:
        return datetime.fromtimestamp(time.time(), tz=UTC)


class ManualClock:
    """A clock that only moves when told to; for tests and simulations."""

    def __init__(self, start: datetime | float = 1_700_000_000.0) -> None:
        if isinstance(start, datetime):
            self._now = start.astimezone(UTC)
        else:
            self._now = datetime.fromtimestamp(start, tz=UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)

    def set(self, when: datetime | float) -> None:
        self._now = (
            when.astimezone(UTC)
            if isinstance(when, datetime)
            else datetime.fromtimestamp(when, UTC)
        )
