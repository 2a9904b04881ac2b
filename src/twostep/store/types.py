"""Column types shared by every table.

Invariant: a timestamp is timezone-aware UTC on the way in *and* on the way out, on every
engine. PostgreSQL stores ``timestamptz``; SQLite has no time zone type, so the value is
stored as naive UTC text and given back its ``tzinfo`` when read. A naive datetime is
refused at bind time, because guessing its zone is how replay windows silently shift. An
instant past either end of the calendar (``9999-12-31T23:59-01:00`` is in year 10000 in UTC)
is taken as that end, so a filter typed at the edge still means "everything up to the end".
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Dialect, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator, TypeEngine

from twostep.clock import MAX_UTC, MIN_UTC, as_utc

__all__ = ["ID", "MAX_UTC", "MIN_UTC", "JSONType", "UTCDateTime", "as_utc"]


class UTCDateTime(TypeDecorator[datetime]):
    """A ``DateTime`` that only accepts and only returns aware UTC datetimes."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: pass a timezone-aware UTC datetime")
        value = as_utc(value)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return as_utc(value)


def _json() -> TypeEngine[Any]:
    return JSON().with_variant(JSONB(), "postgresql")


JSONType: TypeEngine[Any] = _json()
"""JSON everywhere; ``jsonb`` on PostgreSQL."""

ID = String(36)
"""Primary keys are uuid4 text: not guessable, and the same on both engines."""
