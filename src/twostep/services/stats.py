"""Read-only numbers for the admin console: 2FA adoption, verifications, lockouts.

Invariants:

* only an active admin with a full session reads them (:class:`Forbidden` otherwise), like
  every read of :mod:`twostep.services.admin`;
* :func:`overview` is five aggregate statements in one read-only transaction, whatever the
  number of users or events: time buckets are computed by the database (``strftime`` on
  SQLite, ``to_char`` on PostgreSQL, both in UTC) and only the per-bucket counts come back;
* buckets are UTC days and hours; a bucket with no rows is present with zeros, so a chart
  never skips a day;
* adoption is reconstructed from what is stored now: an account counts from its
  ``created_at``, and counts as protected from the first confirmation of a device that is
  still active. Devices removed since are gone from that history (the audit log keeps it).

Example::

    numbers = overview(ctx, admin)
    numbers.share                       # 0.62: share of accounts with an active device
    numbers.adoption[-1].with_two_factor
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import ColumnElement, Select, String, case, func, literal, select

from twostep.errors import Forbidden, InvalidInput
from twostep.services import sessions
from twostep.services.context import Context
from twostep.services.identity import normalize_email
from twostep.store import Tx, users
from twostep.store.tables import audit_events, throttles, totp_devices
from twostep.store.tables import users as users_table

FACTOR_OUTCOMES = ("success", "failure", "denied")
LOCKED_EVENT = "account.locked"
_BEFORE = ""  # the bucket of everything older than the window
_FORMATS = {"day": ("%Y-%m-%d", "YYYY-MM-DD"), "hour": ("%Y-%m-%d %H", "YYYY-MM-DD HH24")}


@dataclass(frozen=True, slots=True)
class AdoptionDay:
    """At the end of ``day`` (UTC): how many accounts existed, and how many had 2FA."""

    day: date
    users: int
    with_two_factor: int

    @property
    def share(self) -> float | None:
        """The share with 2FA; ``None`` before the first account (no share, not 0%)."""
        return self.with_two_factor / self.users if self.users else None


@dataclass(frozen=True, slots=True)
class HourOfChecks:
    """Second-factor checks in the hour starting at ``hour`` (UTC), by outcome.

    ``denied`` counts checks refused because the account was locked.
    """

    hour: datetime
    success: int = 0
    failure: int = 0
    denied: int = 0

    @property
    def total(self) -> int:
        return self.success + self.failure + self.denied


@dataclass(frozen=True, slots=True)
class DayCount:
    day: date
    count: int


@dataclass(frozen=True, slots=True)
class Overview:
    """The overview page's numbers, read at ``at``."""

    at: datetime
    users: int
    with_two_factor: int
    locked_now: int
    adoption: list[AdoptionDay]
    checks: list[HourOfChecks]
    lockouts: list[DayCount]

    @property
    def share(self) -> float:
        return self.with_two_factor / self.users if self.users else 0.0

    @property
    def checks_total(self) -> int:
        return sum(hour.total for hour in self.checks)

    @property
    def checks_failed(self) -> int:
        return sum(hour.failure + hour.denied for hour in self.checks)


def _require_admin(admin: sessions.Principal) -> None:
    sessions.require_full(admin)
    if admin.user.role != "admin" or not admin.user.is_active:
        raise Forbidden()


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


def _day(key: str) -> date:
    return date.fromisoformat(key)


def overview(
    ctx: Context, admin: sessions.Principal, *, days: int = 30, hours: int = 48
) -> Overview:
    """Adoption and lockouts per day over ``days`` days, checks per hour over ``hours``."""
    _require_admin(admin)
    at = ctx.clock.now()
    first_day = at.date() - timedelta(days=days - 1)
    window = datetime.combine(first_day, datetime.min.time(), tzinfo=UTC)
    first_hour = at.replace(minute=0, second=0, microsecond=0) - timedelta(hours=hours - 1)
    u, d, a, t = users_table.c, totp_devices.c, audit_events.c, throttles.c
    with ctx.db.transaction(readonly=True) as tx:

        def day_or_before(column: ColumnElement[datetime]) -> ColumnElement[str]:
            return case((column < window, literal(_BEFORE)), else_=_bucket(tx, column, "day"))

        created = _counts(tx, select(day_or_before(u.created_at).label("bucket")))
        protected = (
            select(func.min(d.confirmed_at).label("first"))
            .where(d.status == "active", d.confirmed_at.is_not(None))
            .group_by(d.user_id)
            .subquery()
        )
        enrolled = _counts(tx, select(day_or_before(protected.c.first).label("bucket")))
        factor = a.event.like("%.factor")
        per_hour = select(_bucket(tx, a.at, "hour").label("bucket"), a.outcome).where(
            factor, a.outcome.in_(FACTOR_OUTCOMES), a.at >= first_hour
        )
        sub = per_hour.subquery()
        outcomes = tx.execute(
            select(sub.c.bucket, sub.c.outcome, func.count()).group_by(sub.c.bucket, sub.c.outcome)
        )
        locks = _counts(
            tx,
            select(_bucket(tx, a.at, "day").label("bucket")).where(
                a.event == LOCKED_EVENT, a.at >= window
            ),
        )
        locked_now = tx.execute(
            select(func.count())
            .select_from(throttles)
            .where(t.key.like("otp:user:%"), t.locked_until > at)
        ).scalar_one()

    window_days = [first_day + timedelta(days=offset) for offset in range(days)]
    adoption: list[AdoptionDay] = []
    running_users, running_2fa = created.get(_BEFORE, 0), enrolled.get(_BEFORE, 0)
    for day in window_days:
        running_users += created.get(day.isoformat(), 0)
        running_2fa += enrolled.get(day.isoformat(), 0)
        adoption.append(AdoptionDay(day, running_users, running_2fa))

    by_hour: dict[str, dict[str, int]] = {}
    for key, outcome, n in outcomes:
        by_hour.setdefault(key, {})[outcome] = int(n)
    checks = []
    for offset in range(hours):
        hour = first_hour + timedelta(hours=offset)
        found = by_hour.get(hour.strftime(_FORMATS["hour"][0]), {})
        checks.append(HourOfChecks(hour, **found))

    lockouts = [DayCount(day, locks.get(day.isoformat(), 0)) for day in window_days]
    return Overview(
        at=at,
        users=sum(created.values()),
        with_two_factor=sum(enrolled.values()),
        locked_now=int(locked_now),
        adoption=adoption,
        checks=checks,
        lockouts=lockouts,
    )


def user_emails(ctx: Context, admin: sessions.Principal, user_ids: set[str]) -> dict[str, str]:
    """``{id: email}`` for the accounts among ``user_ids`` that still exist (one statement).

    The audit log keeps bare ids (history outlives accounts); this labels a page of it.
    """
    _require_admin(admin)
    wanted = sorted(i for i in user_ids if i)
    if not wanted:
        return {}
    u = users_table.c
    with ctx.db.transaction(readonly=True) as tx:
        rows = tx.execute(select(u.id, u.email).where(u.id.in_(wanted)))
        return {row.id: row.email for row in rows}


def user_id_for_email(ctx: Context, admin: sessions.Principal, email: str) -> str | None:
    """The id of the account with ``email`` (normalised as at sign-up), or ``None``."""
    _require_admin(admin)
    try:
        normalized = normalize_email(email)
    except InvalidInput:
        return None
    with ctx.db.transaction(readonly=True) as tx:
        user = users.get_by_email(tx, normalized)
    return user.id if user is not None else None
