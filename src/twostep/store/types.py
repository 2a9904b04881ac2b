"""Column types shared by every table.

Invariant: a timestamp is timezone-aware UTC on the way in *and* on the way out, on every
engine. PostgreSQL stores ``timestamptz``; SQLite has no time zone type, so the value is
stored as naive UTC text and given back its ``tzinfo`` when read. A naive datetime is
refused at bind time, because guessing its zone is how replay windows silently shift.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Dialect, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator, TypeEngine

__all__ = ["ID", "JSONType", "UTCDateTime"]


class UTCDateTime(TypeDecorator[datetime]):
    """A ``DateTime`` that only accepts and only returns aware UTC datetimes."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: pass a timezone-aware UTC datetime")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _json() -> TypeEngine[Any]:
    return JSON().with_variant(JSONB(), "postgresql")


JSONType: TypeEngine[Any] = _json()
"""JSON everywhere; ``jsonb`` on PostgreSQL."""

ID = String(36)
"""Primary keys are uuid4 text: not guessable, and the same on both engines."""
