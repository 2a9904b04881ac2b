"""Read-only numbers for the admin console: 2FA adoption, verifications, lockouts.

Invariants:

* only an active admin with a full session reads them (:class:`Forbidden` otherwise), like
  every read of :mod:`twostep.services.admin`;
* :func:`overview` is five aggregate statements in one read-only transaction, whatever the
  number of users or events: time buckets are computed by the database
  (:mod:`twostep.store.stats`, in UTC) and only the per-bucket counts come back;
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

from twostep.errors import Forbidden, InvalidInput
from twostep.services import lockout, sessions
from twostep.services.context import Context
from twostep.services.identity import normalize_email
from twostep.store import stats as stats_store
from twostep.store import users

FACTOR_SUFFIX = ".factor"
"""Every second-factor check leaves an audit row named ``<purpose>.factor``."""
FACTOR_OUTCOMES = ("success", "failure", "denied")
LOCKED_EVENT = "account.locked"


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


def overview(
    ctx: Context, admin: sessions.Principal, *, days: int = 30, hours: int = 48
) -> Overview:
    """Adoption and lockouts per day over ``days`` days, checks per hour over ``hours``."""
    _require_admin(admin)
    at = ctx.clock.now()
    first_day = at.date() - timedelta(days=days - 1)
    window = datetime.combine(first_day, datetime.min.time(), tzinfo=UTC)
    first_hour = at.replace(minute=0, second=0, microsecond=0) - timedelta(hours=hours - 1)
    with ctx.db.transaction(readonly=True) as tx:
        created = stats_store.users_created_per_day(tx, window)
        enrolled = stats_store.first_enrolments_per_day(tx, window)
        by_hour = stats_store.outcomes_per_hour(
            tx, event_suffix=FACTOR_SUFFIX, outcomes=FACTOR_OUTCOMES, since=first_hour
        )
        locks = stats_store.events_per_day(tx, LOCKED_EVENT, window)
        locked_now = stats_store.count_locked(tx, lockout.otp_key(""), at)

    window_days = [first_day + timedelta(days=offset) for offset in range(days)]
    adoption: list[AdoptionDay] = []
    running_users, running_2fa = created.before, enrolled.before
    for day in window_days:
        running_users += created.days.get(day, 0)
        running_2fa += enrolled.days.get(day, 0)
        adoption.append(AdoptionDay(day, running_users, running_2fa))

    checks = []
    for offset in range(hours):
        hour = first_hour + timedelta(hours=offset)
        checks.append(HourOfChecks(hour, **by_hour.get(hour, {})))

    lockouts = [DayCount(day, locks.get(day, 0)) for day in window_days]
    return Overview(
        at=at,
        users=created.total,
        with_two_factor=enrolled.total,
        locked_now=locked_now,
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
    with ctx.db.transaction(readonly=True) as tx:
        return users.emails_by_id(tx, wanted)


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
