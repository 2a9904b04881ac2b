"""The overview's aggregates: UTC day and hour buckets counted by the database."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from tests.store.conftest import add_device
from twostep.store import Database, Tx, audit, devices, stats, throttles, users

SINCE = datetime(2026, 3, 1, tzinfo=UTC)


def _user(tx: Tx, email: str, at: datetime) -> users.User:
    user = users.create(tx, email=email, password_hash="h", at=at)
    assert user is not None
    return user


def _event(tx: Tx, event: str, outcome: str, at: datetime, times: int = 1) -> None:
    for _ in range(times):
        audit.record(tx, event=event, outcome=outcome, at=at)


def test_users_created_per_day(db: Database) -> None:
    with db.transaction() as tx:
        _user(tx, "old@example.com", SINCE - timedelta(days=3))
        _user(tx, "edge@example.com", SINCE - timedelta(microseconds=1))
        _user(tx, "first@example.com", SINCE)
        _user(tx, "late@example.com", datetime(2026, 3, 2, 23, 59, 59, tzinfo=UTC))
        _user(tx, "next@example.com", datetime(2026, 3, 3, tzinfo=UTC))
    with db.transaction(readonly=True) as tx:
        daily = stats.users_created_per_day(tx, SINCE)
        empty = stats.users_created_per_day(tx, SINCE + timedelta(days=365))
    assert daily.before == 2
    assert daily.days == {date(2026, 3, 1): 1, date(2026, 3, 2): 1, date(2026, 3, 3): 1}
    assert daily.total == 5
    assert (empty.before, empty.days, empty.total) == (5, {}, 5)


def test_first_enrolments_count_each_account_once_by_its_earliest_active_device(
    db: Database,
) -> None:
    with db.transaction() as tx:
        alice = _user(tx, "alice@example.com", SINCE - timedelta(days=9))
        bob = _user(tx, "bob@example.com", SINCE - timedelta(days=9))
        carol = _user(tx, "carol@example.com", SINCE - timedelta(days=9))
        _user(tx, "dave@example.com", SINCE - timedelta(days=9))  # never enrolled
        day2 = datetime(2026, 3, 2, 12, tzinfo=UTC)
        for at in (day2, day2 + timedelta(days=1)):  # two devices: counted on the first day
            device = devices.create_pending(
                tx, user_id=alice.id, name="phone", secret_ciphertext=b"\x00" * 48, key_id="k",
                at=at,
            )  # fmt: skip
            assert devices.confirm(tx, device.id, step=1, at=at)
        old = devices.create_pending(
            tx, user_id=bob.id, name="phone", secret_ciphertext=b"\x00" * 48, key_id="k",
            at=SINCE - timedelta(days=2),
        )  # fmt: skip
        assert devices.confirm(tx, old.id, step=1, at=SINCE - timedelta(days=2))
        add_device(tx, carol.id, active=False)  # pending: no 2FA
    with db.transaction(readonly=True) as tx:
        daily = stats.first_enrolments_per_day(tx, SINCE)
    assert (daily.before, daily.days, daily.total) == (1, {date(2026, 3, 2): 1}, 2)


def test_outcomes_per_hour(db: Database) -> None:
    hour = datetime(2026, 3, 4, 5, tzinfo=UTC)
    with db.transaction() as tx:
        _event(tx, "login.factor", "success", hour + timedelta(minutes=1), times=3)
        _event(tx, "elevate.factor", "failure", hour + timedelta(minutes=59), times=2)
        _event(tx, "reset.factor", "denied", hour - timedelta(seconds=1))
        _event(tx, "login.factor", "success", hour - timedelta(hours=2))  # before ``since``
        _event(tx, "login.password", "failure", hour)  # not a second factor
        _event(tx, "login.factor", "info", hour)  # not a counted outcome
    with db.transaction(readonly=True) as tx:
        found = stats.outcomes_per_hour(
            tx, event_suffix=".factor", outcomes=("success", "failure", "denied"),
            since=hour - timedelta(hours=1),
        )  # fmt: skip
    assert found == {
        hour: {"success": 3, "failure": 2},
        hour - timedelta(hours=1): {"denied": 1},
    }
    assert all(key.tzinfo is not None and key.minute == 0 for key in found)


def test_events_per_day(db: Database) -> None:
    with db.transaction() as tx:
        _event(tx, "account.locked", "info", datetime(2026, 3, 2, 23, 59, 59, tzinfo=UTC), 2)
        _event(tx, "account.locked", "info", datetime(2026, 3, 3, tzinfo=UTC))
        _event(tx, "account.locked", "info", SINCE - timedelta(seconds=1), 5)  # too old
        _event(tx, "account.unlocked", "info", datetime(2026, 3, 3, tzinfo=UTC))
    with db.transaction(readonly=True) as tx:
        found = stats.events_per_day(tx, "account.locked", SINCE)
        none = stats.events_per_day(tx, "nothing", SINCE)
    assert found == {date(2026, 3, 2): 2, date(2026, 3, 3): 1}
    assert none == {}


def test_count_locked_by_key_prefix(db: Database) -> None:
    at = datetime(2026, 3, 4, tzinfo=UTC)
    with db.transaction() as tx:
        throttles.register_failure(tx, "otp:user:a", at, 1, 60)
        throttles.register_failure(tx, "otp:user:b", at, 1, 30)
        throttles.register_failure(tx, "otp:user:c", at, 5, 60)  # failures, not locked
        throttles.register_failure(tx, "login:email:d", at, 1, 90)  # another kind of key
        throttles.register_failure(tx, "otp_user_e", at, 1, 60)  # ``_`` is not a wildcard
    with db.transaction(readonly=True) as tx:
        assert stats.count_locked(tx, "otp:user:", at + timedelta(seconds=1)) == 2
        assert stats.count_locked(tx, "otp:user:", at + timedelta(seconds=45)) == 1
        assert stats.count_locked(tx, "otp_user_", at + timedelta(seconds=1)) == 1
        assert stats.count_locked(tx, "", at + timedelta(seconds=1)) == 4
        assert stats.count_locked(tx, "otp:user:", at + timedelta(seconds=61)) == 0
