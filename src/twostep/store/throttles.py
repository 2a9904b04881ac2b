"""Failure counters and lockouts, counted atomically in the database (DESIGN §4.3).

A throttle is a row keyed by what it protects (``otp:user:ID``, ``login:email:HASH`` …; the
services choose the keys). :func:`register_failure` is **one** ``INSERT … ON CONFLICT DO
UPDATE … RETURNING`` statement on SQLite and PostgreSQL alike, so failures from any number
of threads, processes and hosts are all counted: there is no read-modify-write to lose.

Policy, written down (after django-otp's ``factor * 2**(n-1)``, bounded):

- An attempt is counted *before* it is checked (DESIGN §4.3): :func:`register_failure`
  counts one, and the caller checks only while ``failures <= threshold``; a success then
  :func:`reset` s the key. So a parallel burst never gets more than ``threshold`` checks,
  whatever the number of threads, processes or hosts.
- ``failures`` counts consecutive failures since the last :func:`reset` (a success), the last
  :func:`unlock`, or the end of the last lock.
- When a failure brings ``failures`` to ``threshold`` or beyond while the key is not locked,
  the key locks for ``min(base_lock_seconds * 2**n, max_lock_seconds)`` seconds, where n is
  the number of earlier locks that ended less than ``escalation_seconds`` ago (a lock that
  ended longer ago is forgiven, and n starts at 0 again).
- Failures while locked are counted but neither extend nor escalate the lock; the caller
  refuses every attempt, right or wrong, while :meth:`ThrottleState.is_locked`.
- **Once a lock lapses the count starts again**: the first failure after it counts as one,
  so nobody keeps a victim locked out with one guess per lapse.
- With ``window_seconds``, a streak whose first failure is older than the window (and not
  locked) starts over at one failure.
- :func:`reset` forgets everything; :func:`unlock` (an operator) lifts the lock and clears
  the failures but keeps ``lock_count``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, case, literal, not_, or_, select, update

from twostep.store._sql import delete_where, insert_for
from twostep.store.db import Tx
from twostep.store.tables import throttles
from twostep.store.types import UTCDateTime

__all__ = [
    "ThrottleState",
    "delete_stale",
    "get",
    "lock_seconds",
    "register_failure",
    "reset",
    "unlock",
]

DEFAULT_MAX_LOCK_SECONDS = 24 * 3600
DEFAULT_ESCALATION_SECONDS = 24 * 3600


@dataclass(frozen=True, slots=True)
class ThrottleState:
    """A counter as it stands after the last change."""

    key: str
    failures: int
    window_started_at: datetime
    locked_until: datetime | None
    lock_count: int
    updated_at: datetime

    def is_locked(self, at: datetime) -> bool:
        """True while the lock holds: every attempt must then be refused."""
        return self.locked_until is not None and at < self.locked_until

    def retry_after(self, at: datetime) -> int:
        """Whole seconds until the lock lapses (0 when not locked)."""
        if self.locked_until is None or at >= self.locked_until:
            return 0
        return max(1, math.ceil((self.locked_until - at).total_seconds()))


def lock_seconds(lock_count: int, base: int, cap: int = DEFAULT_MAX_LOCK_SECONDS) -> int:
    """Length of the lock that follows ``lock_count`` earlier locks: ``min(base * 2**n, cap)``."""
    return min(base * (1 << min(lock_count, 62)), cap)


def _ts(value: datetime) -> ColumnElement[datetime]:
    return literal(value, UTCDateTime())


def _lock_end(
    at: datetime, count: ColumnElement[int], base: int, cap: int
) -> ColumnElement[datetime]:
    """``at + lock_seconds(count)`` as SQL, as a CASE over the few uncapped counts."""
    whens: list[tuple[ColumnElement[bool], ColumnElement[datetime]]] = []
    n = 0
    while n < 62 and base * (1 << n) < cap:
        end = at + timedelta(seconds=lock_seconds(n, base, cap))
        whens.append((count == n, _ts(end)))
        n += 1
    capped = _ts(at + timedelta(seconds=cap))
    return case(*whens, else_=capped) if whens else capped


def register_failure(
    tx: Tx,
    key: str,
    at: datetime,
    threshold: int,
    base_lock_seconds: int,
    *,
    max_lock_seconds: int = DEFAULT_MAX_LOCK_SECONDS,
    escalation_seconds: int = DEFAULT_ESCALATION_SECONDS,
    window_seconds: int | None = None,
) -> ThrottleState:
    """Count one failure (or reserve one attempt) for ``key`` atomically; the new state."""
    if threshold < 1 or base_lock_seconds < 1:
        raise ValueError("threshold and base_lock_seconds must be positive")
    t = throttles.c
    now = _ts(at)
    locked = and_(t.locked_until.is_not(None), t.locked_until > now)
    # The streak that ran into a lock ends with the lock: it began before the lock ended.
    lapsed = and_(
        t.locked_until.is_not(None), t.locked_until <= now, t.window_started_at < t.locked_until
    )
    restart = lapsed
    if window_seconds is not None:
        stale = t.window_started_at <= _ts(at - timedelta(seconds=window_seconds))
        restart = or_(lapsed, and_(not_(locked), stale))
    failures: ColumnElement[int] = case((restart, 1), else_=t.failures + 1)
    started: ColumnElement[datetime] = case((restart, now), else_=t.window_started_at)
    forgiven = and_(
        t.locked_until.is_not(None),
        t.locked_until <= _ts(at - timedelta(seconds=escalation_seconds)),
    )
    earlier_locks: ColumnElement[int] = case((forgiven, 0), else_=t.lock_count)
    lock_now = and_(not_(locked), failures >= threshold)
    first_locks = threshold <= 1
    values: dict[str, Any] = {
        "key": key,
        "failures": 1,
        "window_started_at": at,
        "locked_until": (
            at + timedelta(seconds=lock_seconds(0, base_lock_seconds, max_lock_seconds))
            if first_locks
            else None
        ),
        "lock_count": 1 if first_locks else 0,
        "updated_at": at,
    }
    stmt = insert_for(tx, throttles).values(**values)
    stmt = stmt.on_conflict_do_update(
        index_elements=["key"],
        set_={
            "failures": failures,
            "window_started_at": started,
            "locked_until": case(
                (lock_now, _lock_end(at, earlier_locks, base_lock_seconds, max_lock_seconds)),
                else_=t.locked_until,
            ),
            "lock_count": case((lock_now, earlier_locks + 1), else_=t.lock_count),
            "updated_at": now,
        },
    ).returning(*throttles.c)
    return ThrottleState(**tx.execute(stmt).one()._mapping)


def get(tx: Tx, key: str) -> ThrottleState | None:
    """The counter for ``key``, if any failure was ever counted since the last reset."""
    row = tx.execute(select(throttles).where(throttles.c.key == key)).first()
    return None if row is None else ThrottleState(**row._mapping)


def reset(tx: Tx, key: str) -> bool:
    """A success: forget the failures, the lock and the escalation."""
    return tx.execute(_RESET, {"key": key}).rowcount == 1


_RESET = throttles.delete().where(throttles.c.key == bindparam("key"))


def unlock(tx: Tx, key: str, at: datetime) -> bool:
    """An operator lifts the lock and clears failures; ``lock_count`` is kept."""
    stmt = (
        update(throttles)
        .where(throttles.c.key == key)
        .values(failures=0, locked_until=None, window_started_at=at, updated_at=at)
    )
    return tx.execute(stmt).rowcount == 1


def delete_stale(tx: Tx, before: datetime, *, limit: int | None = None) -> int:
    """Housekeeping: drop counters untouched since ``before`` whose lock (if any) ended then.

    Pass a ``before`` older than the longest lock, window and escalation memory (the
    maintenance service uses two days): such a row no longer changes any decision, except
    that a few consecutive failures that never reached a lock are forgotten after days of
    silence, which gives nobody more than the lapse of a lock gives.
    """
    t = throttles.c
    stale = and_(t.updated_at < before, or_(t.locked_until.is_(None), t.locked_until < before))
    return delete_where(tx, throttles, stale, limit)
