"""Timestamps: aware UTC in and out, naive refused, the calendar's ends taken as the ends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from tests.store.conftest import T0
from twostep.store import Database, audit
from twostep.store.types import MAX_UTC, MIN_UTC, as_utc

EAST, WEST = timezone(timedelta(hours=14)), timezone(-timedelta(hours=1))
FIRST = datetime(1, 1, 1, tzinfo=EAST)  # year 0 in UTC
LAST = datetime(9999, 12, 31, 23, 59, 59, tzinfo=WEST)  # year 10000 in UTC


def test_as_utc_converts_and_clamps_past_the_calendar() -> None:
    two_hours_east = datetime(2026, 5, 6, 9, tzinfo=timezone(timedelta(hours=2)))
    assert as_utc(two_hours_east) == datetime(2026, 5, 6, 7, tzinfo=UTC)
    assert as_utc(FIRST) == MIN_UTC and as_utc(LAST) == MAX_UTC
    assert as_utc(LAST).tzinfo is UTC


def test_filters_at_the_ends_of_the_calendar_match_everything(db: Database) -> None:
    with db.transaction() as tx:
        audit.record(tx, event="user.created", outcome="success", at=T0)
    with db.transaction(readonly=True) as tx:
        assert len(audit.query(tx, since=FIRST, until=LAST)) == 1
        assert audit.count(tx, since=FIRST, until=LAST) == 1
        assert audit.query(tx, until=FIRST) == []
        assert audit.query(tx, since=LAST) == []


def test_naive_datetimes_are_refused(db: Database) -> None:
    with pytest.raises(Exception, match="naive datetime"), db.transaction() as tx:
        audit.query(tx, since=datetime(2026, 5, 6))  # noqa: DTZ001
