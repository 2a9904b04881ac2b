"""Throttle repository: the written lockout formula, escalation, reset and unlock."""

from __future__ import annotations

import pytest

from tests.store.conftest import later
from twostep.store import Database, Tx, throttles

KEY = "otp:user:1"


def fail(
    tx: Tx, at: float, threshold: int = 3, base: int = 60, **kw: int
) -> throttles.ThrottleState:
    return throttles.register_failure(tx, KEY, later(at), threshold, base, **kw)


@pytest.mark.parametrize(
    ("lock_count", "expected"),
    [(0, 900), (1, 1800), (2, 3600), (6, 57600), (7, 86400), (99, 86400)],
)
def test_lock_seconds_formula(lock_count: int, expected: int) -> None:
    assert throttles.lock_seconds(lock_count, 900) == expected
    assert throttles.lock_seconds(lock_count, 900, cap=1000) == min(expected, 1000)


def test_failures_lock_at_the_threshold_and_escalate(db: Database) -> None:
    with db.transaction() as tx:
        assert fail(tx, 0).failures == 1
        second = fail(tx, 1)
        assert (second.failures, second.locked_until, second.is_locked(later(1))) == (
            2,
            None,
            False,
        )
        third = fail(tx, 2)
        assert third.failures == 3 and third.lock_count == 1
        assert third.locked_until == later(62) and third.is_locked(later(61))
        assert third.retry_after(later(2)) == 60 and third.retry_after(later(61.5)) == 1
        assert third.retry_after(later(62)) == 0
        while_locked = fail(tx, 30)  # counted, but the lock neither grows nor escalates
        assert while_locked.failures == 4 and while_locked.locked_until == later(62)
        assert while_locked.lock_count == 1
        after_lapse = fail(tx, 100)  # the count starts again once the lock lapses
        assert after_lapse.failures == 1 and not after_lapse.is_locked(later(100))
        assert after_lapse.window_started_at == later(100)
        assert fail(tx, 101).failures == 2 and fail(tx, 102).failures == 3
        again = throttles.get(tx, KEY)  # a second full run locks again, doubled
        assert again is not None and again.lock_count == 2
        assert again.locked_until == later(102 + 120)
        for t in (300, 301):
            fail(tx, t)
        third_lock = fail(tx, 302)
        assert third_lock.lock_count == 3 and third_lock.locked_until == later(302 + 240)
        assert throttles.get(tx, KEY) == third_lock
        assert third_lock.updated_at == later(302)


def test_a_guess_after_a_lapse_does_not_lock_again(db: Database) -> None:
    """The standing denial of service: after a lapse it takes a full run to lock again."""
    with db.transaction() as tx:
        for t in range(3):
            fail(tx, t)  # locked until 62
        for t in (62, 200):
            state = fail(tx, t)
            assert not state.is_locked(later(t)) and state.lock_count == 1
        assert state.failures == 2
        assert fail(tx, 300).is_locked(later(300))


def test_escalation_is_forgiven_after_its_window(db: Database) -> None:
    with db.transaction() as tx:
        for t in range(3):
            fail(tx, t, escalation_seconds=1000)
        for t in (100, 101, 102):  # lapsed 38 s ago: within the window, so doubled
            state = fail(tx, t, escalation_seconds=1000)
        assert state.lock_count == 2 and state.locked_until == later(102 + 120)
        for t in (5000, 5001, 5002):  # the last lock ended long ago: back to the base
            state = fail(tx, t, escalation_seconds=1000)
        assert state.lock_count == 1 and state.locked_until == later(5002 + 60)


def test_escalation_is_capped(db: Database) -> None:
    with db.transaction() as tx:
        state = fail(tx, 0, threshold=1, base=60, max_lock_seconds=200)
        assert state.locked_until == later(60) and state.lock_count == 1
        state = fail(tx, 100, threshold=1, base=60, max_lock_seconds=200)
        assert state.locked_until == later(100 + 120)
        state = fail(tx, 1000, threshold=1, base=60, max_lock_seconds=200)
        assert state.locked_until == later(1000 + 200)
        state = fail(tx, 2000, threshold=1, base=60, max_lock_seconds=200)
        assert state.locked_until == later(2000 + 200) and state.lock_count == 4


def test_reset_forgets_and_unlock_keeps_the_escalation(db: Database) -> None:
    with db.transaction() as tx:
        for t in range(3):
            fail(tx, t)
        assert throttles.unlock(tx, KEY, later(5))
        unlocked = throttles.get(tx, KEY)
        assert unlocked is not None and not unlocked.is_locked(later(5))
        assert unlocked.failures == 0 and unlocked.lock_count == 1
        for t in range(6, 9):
            state = fail(tx, t)
        assert state.lock_count == 2 and state.locked_until == later(8 + 120)
        assert throttles.reset(tx, KEY)
        assert throttles.get(tx, KEY) is None
        assert not throttles.reset(tx, KEY) and not throttles.unlock(tx, KEY, later(9))
        assert fail(tx, 10).failures == 1


def test_a_window_forgets_an_old_streak(db: Database) -> None:
    with db.transaction() as tx:
        fail(tx, 0, window_seconds=600)
        fail(tx, 1, window_seconds=600)
        fresh = fail(tx, 700, window_seconds=600)
        assert fresh.failures == 1 and fresh.window_started_at == later(700)
        assert fail(tx, 701, window_seconds=600).failures == 2
        locked = fail(tx, 702, base=1000, window_seconds=600)
        assert locked.is_locked(later(1400))
        counted = fail(tx, 1400, base=1000, window_seconds=600)  # locked: no fresh start
        assert counted.failures == 4 and counted.window_started_at == later(700)


def test_bad_policy_is_refused(db: Database) -> None:
    with db.transaction() as tx, pytest.raises(ValueError):
        throttles.register_failure(tx, KEY, later(0), 0, 60)
