"""The first read of a factor check: active devices with the account's lockout counter."""

from __future__ import annotations

from datetime import timedelta

from tests.store.conftest import T0, add_device, later
from twostep.store import Database, factor_state, throttles

KEY = "otp:user:test"


def test_only_active_devices_oldest_first_with_no_counter(db: Database, user_id: str) -> None:
    with db.transaction() as tx:
        first = add_device(tx, user_id, name="first")
        add_device(tx, user_id, active=False, name="pending")
        second = add_device(tx, user_id, name="second", at=later(5))
        state = factor_state.read(tx, user_id, KEY)
    assert [d.id for d in state.devices] == [first, second]
    assert state.lockout is None and state.failures(T0) == 0


def test_the_counter_comes_with_the_devices_and_a_lapsed_lock_counts_nothing(
    db: Database, user_id: str
) -> None:
    with db.transaction() as tx:
        add_device(tx, user_id)
        for _ in range(3):
            throttles.register_failure(tx, KEY, T0, 3, 60)
        state = factor_state.read(tx, user_id, KEY)
    assert state.lockout is not None and state.lockout.is_locked(later(1))
    assert state.failures(later(1)) == 3  # locked: the failures stand
    assert state.failures(T0 + timedelta(seconds=61)) == 0  # the lock lapsed: they start over


def test_without_an_active_device_the_counter_is_still_read(db: Database, user_id: str) -> None:
    with db.transaction() as tx:
        add_device(tx, user_id, active=False)
        throttles.register_failure(tx, KEY, T0, 5, 60)
        state = factor_state.read(tx, user_id, KEY)
    assert state.devices == []  # a security key or backup codes may still answer
    assert state.lockout is not None and state.failures(T0) == 1
