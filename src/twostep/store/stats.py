"""Aggregates for the admin overview: rows counted per UTC day or hour by the database.

Each function is one statement whatever the number of rows: the time bucket of every row is
computed in SQL (``strftime`` on SQLite, ``to_char`` on PostgreSQL, both in UTC) and only
one count per bucket comes back, so a bucket without rows is simply absent. The bucket text
is turned into a :class:`~datetime.date` (or an hour as an aware UTC datetime) here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, Select, String, case, func, literal, select, union_all

from twostep.store.db import Tx
from twostep.store.tables import (
    audit_events,
    throttles,
    totp_devices,
    users,
    webauthn_credentials,
)

__all__ = [
    "Daily",
    "count_locked",
    "events_per_day",
    "first_enrolments_per_day",
    "outcomes_per_hour",
    "users_created_per_day",
]

_BEFORE = ""  # the bucket of everything older than the window
_FORMATS = {"day": ("%Y-%m-%d", "YYYY-MM-DD"), "hour": ("%Y-%m-%d %H", "YYYY-MM-DD HH24")}


@dataclass(frozen=True, slots=True)
class Daily:
    """Rows per UTC day from a window's start on, and how many came before it."""

    before: int
    days: dict[date, int]

    @property
    def total(self) -> int:
        return self.before + sum(self.days.values())


def _bucket(
    tx: Tx, column: ColumnElement[datetime], unit: Literal["day", "hour"]
) -> ColumnElement[str]:
    """``column`` as UTC text cut to its day or hour, e.g. ``2026-05-06 07``."""
    python_format, postgres_format = _FORMATS[unit]
    if tx.dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", column), postgres_format, type_=String())
    # SQLite keeps naive UTC text (see twostep.store.types), which strftime reads as is.
    return func.strftime(python_format, column, type_=String())


def _counts(tx: Tx, stmt: Select[Any]) -> dict[str, int]:
    """``{bucket: rows}`` for a one-column select of bucket keys.

    Grouping happens over a subquery so that PostgreSQL sees one expression, not the same
    expression twice with separately bound parameters.
    """
    sub = stmt.subquery()
    grouped = select(sub.c.bucket, func.count()).group_by(sub.c.bucket)
    return {key: int(n) for key, n in tx.execute(grouped)}


def _daily(tx: Tx, column: ColumnElement[datetime], since: datetime) -> Select[Any]:
    """A one-column select of day buckets, everything before ``since`` in one bucket."""
    bucket = case((column < since, literal(_BEFORE)), else_=_bucket(tx, column, "day"))
    return select(bucket.label("bucket"))


def _split(counts: dict[str, int]) -> Daily:
    days = {date.fromisoformat(key): n for key, n in counts.items() if key != _BEFORE}
    return Daily(counts.get(_BEFORE, 0), days)


def users_created_per_day(tx: Tx, since: datetime) -> Daily:
    """Accounts by the UTC day of their ``created_at``; those older than ``since`` together."""
    return _split(_counts(tx, _daily(tx, users.c.created_at, since)))


def first_enrolments_per_day(tx: Tx, since: datetime) -> Daily:
    """Accounts by the UTC day their earliest still-active factor was confirmed.

    A factor is a confirmed app or a security key (added already confirmed). Factors removed
    since are not counted: only what is stored now can be read back.
    """
    d, k = totp_devices.c, webauthn_credentials.c
    factors = union_all(
        select(d.user_id, d.confirmed_at.label("at")).where(
            d.status == "active", d.confirmed_at.is_not(None)
        ),
        select(k.user_id, k.created_at.label("at")),
    ).subquery()
    protected = select(func.min(factors.c.at).label("first")).group_by(factors.c.user_id).subquery()
    return _split(_counts(tx, _daily(tx, protected.c.first, since)))


def outcomes_per_hour(
    tx: Tx, *, event_suffix: str, outcomes: Sequence[str], since: datetime
) -> dict[datetime, dict[str, int]]:
    """``{hour: {outcome: events}}`` of the audit events named ``…event_suffix`` with one of
    ``outcomes``, from ``since`` on; ``hour`` is the start of a UTC hour."""
    a = audit_events.c
    per_hour = select(_bucket(tx, a.at, "hour").label("bucket"), a.outcome).where(
        a.event.endswith(event_suffix, autoescape=True), a.outcome.in_(outcomes), a.at >= since
    )
    sub = per_hour.subquery()
    grouped = select(sub.c.bucket, sub.c.outcome, func.count()).group_by(
        sub.c.bucket, sub.c.outcome
    )
    found: dict[datetime, dict[str, int]] = {}
    for key, outcome, n in tx.execute(grouped):
        hour = datetime.strptime(key, _FORMATS["hour"][0]).replace(tzinfo=UTC)
        found.setdefault(hour, {})[outcome] = int(n)
    return found


def events_per_day(tx: Tx, event: str, since: datetime) -> dict[date, int]:
    """``{day: events}`` of the audit events named ``event`` from ``since`` on, by UTC day."""
    a = audit_events.c
    stmt = select(_bucket(tx, a.at, "day").label("bucket")).where(a.event == event, a.at >= since)
    return {date.fromisoformat(key): n for key, n in _counts(tx, stmt).items()}


def count_locked(tx: Tx, key_prefix: str, at: datetime) -> int:
    """How many throttle keys starting with ``key_prefix`` are locked at ``at``."""
    t = throttles.c
    stmt = (
        select(func.count())
        .select_from(throttles)
        .where(t.key.startswith(key_prefix, autoescape=True), t.locked_until > at)
    )
    return int(tx.execute(stmt).scalar_one())
