"""The operators' account list: filters, sorts, paging, 2FA and lock state, the total."""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime, timedelta

import pytest

from tests.store.conftest import T0, add_device, later
from twostep.store import Database, Tx, audit, throttles, user_listing, users

PREFIX = "otp:user:"
AT = later(100)


def _user(tx: Tx, email: str, at: datetime, **kw: object) -> users.User:
    user = users.create(tx, email=email, password_hash="h", at=at, **kw)  # type: ignore[arg-type]
    assert user is not None
    return user


def _listed(tx: Tx, **kw: object) -> list[str]:
    """The local parts of the listed emails, in order."""
    found = user_listing.list_users(tx, at=AT, lock_key_prefix=PREFIX, **kw)  # type: ignore[arg-type]
    return [item.email.partition("@")[0] for item in found]


def _count(tx: Tx, **kw: object) -> int:
    return user_listing.count_users(tx, at=AT, lock_key_prefix=PREFIX, **kw)  # type: ignore[arg-type]


def _signed_in(tx: Tx, user: users.User, seconds: float, outcome: str = "success") -> None:
    audit.record(tx, event="session.created", outcome=outcome, at=later(seconds), user_id=user.id)


@pytest.fixture
def people(db: Database) -> dict[str, users.User]:
    """Created one second apart: alice (two active devices, signed in at +50), bob_x (a
    pending device, verified, signed in at +5 and +10), carol (an inactive admin, locked at
    ``AT``), dave (his lock lapsed before ``AT``; only a failed sign-in)."""
    with db.transaction() as tx:
        made = {
            "alice": _user(tx, "alice@example.com", T0, user_id="u-1"),
            "bob": _user(tx, "bob_x@corp.test", later(1), user_id="u-2", email_verified_at=T0),
            "carol": _user(
                tx, "carol@example.com", later(2), user_id="u-3", role="admin", is_active=False
            ),
            "dave": _user(tx, "dave@example.com", later(3), user_id="u-4"),
        }
        add_device(tx, made["alice"].id)
        add_device(tx, made["alice"].id, name="tablet")
        add_device(tx, made["bob"].id, active=False)
        throttles.register_failure(tx, PREFIX + made["carol"].id, later(90), 1, 900)
        throttles.register_failure(tx, PREFIX + made["dave"].id, T0, 1, 60)  # lapsed by AT
        # A lock under another key is not the second-factor lock.
        throttles.register_failure(tx, "login:email:" + made["alice"].id, later(90), 1, 900)
        _signed_in(tx, made["alice"], 50)
        _signed_in(tx, made["bob"], 5)
        _signed_in(tx, made["bob"], 10)
        _signed_in(tx, made["dave"], 60, outcome="failure")
    return made


def test_rows_carry_devices_lock_and_last_sign_in(
    db: Database, people: dict[str, users.User]
) -> None:
    with db.transaction(readonly=True) as tx:
        listed = user_listing.list_users(tx, at=AT, lock_key_prefix=PREFIX)
    assert [u.email for u in listed] == [
        "alice@example.com", "bob_x@corp.test", "carol@example.com", "dave@example.com",
    ]  # fmt: skip
    alice, bob, carol, dave = listed
    assert [u.active_devices for u in listed] == [2, 0, 0, 0]
    assert [u.two_factor_enabled for u in listed] == [True, False, False, False]
    assert carol.locked_until == later(90 + 900) and carol.locked
    assert not (alice.locked or bob.locked or dave.locked)  # another key; a lapsed lock
    assert (alice.last_sign_in, bob.last_sign_in) == (later(50), later(10))
    assert carol.last_sign_in is None and dave.last_sign_in is None  # a failure is not one
    assert (bob.email_verified_at, carol.role, carol.is_active) == (T0, "admin", False)
    assert alice.created_at == T0 and dave.created_at == later(3)
    assert "password_hash" not in {f.name for f in fields(user_listing.UserSummary)}


def test_a_lock_is_read_at_the_given_instant(db: Database, people: dict[str, users.User]) -> None:
    with db.transaction(readonly=True) as tx:
        before = user_listing.list_users(
            tx, at=later(30), lock_key_prefix=PREFIX, two_factor="locked"
        )
        after = user_listing.count_users(
            tx, at=later(2000), lock_key_prefix=PREFIX, two_factor="locked"
        )
    assert [u.email for u in before] == ["carol@example.com", "dave@example.com"]
    assert before[1].locked_until == T0 + timedelta(seconds=60)
    assert after == 0


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({}, ["alice", "bob_x", "carol", "dave"]),
        ({"two_factor": "enabled"}, ["alice"]),
        ({"two_factor": "disabled"}, ["bob_x", "carol", "dave"]),
        ({"two_factor": "locked"}, ["carol"]),
        ({"query": "EXAMPLE"}, ["alice", "carol", "dave"]),
        ({"query": "_"}, ["bob_x"]),  # wildcards are literal
        ({"query": "%"}, []),
        ({"query": "a", "two_factor": "disabled"}, ["carol", "dave"]),
    ],
)
def test_filters_and_the_total_agree(
    db: Database, people: dict[str, users.User], filters: dict[str, str], expected: list[str]
) -> None:
    with db.transaction(readonly=True) as tx:
        assert _listed(tx, **filters) == expected
        assert _count(tx, **filters) == len(expected)


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("created", ["alice", "bob_x", "carol", "dave"]),
        ("newest", ["dave", "carol", "bob_x", "alice"]),
        ("email", ["alice", "bob_x", "carol", "dave"]),
        # Never signed in: last for the most recent, first for the idlest; ties go by id.
        ("last_sign_in", ["alice", "bob_x", "carol", "dave"]),
        ("idle", ["carol", "dave", "bob_x", "alice"]),
    ],
)
def test_sorts(db: Database, people: dict[str, users.User], sort: str, expected: list[str]) -> None:
    with db.transaction(readonly=True) as tx:
        assert _listed(tx, sort=sort) == expected


def test_pages_do_not_overlap(db: Database, people: dict[str, users.User]) -> None:
    with db.transaction(readonly=True) as tx:
        pages = [_listed(tx, sort="newest", limit=3, offset=offset) for offset in (0, 3, 6)]
        assert _count(tx) == 4
    assert pages == [["dave", "carol", "bob_x"], ["alice"], []]


def test_an_empty_table_and_ties_on_the_creation_time(db: Database) -> None:
    with db.transaction(readonly=True) as tx:
        assert user_listing.list_users(tx, at=AT, lock_key_prefix=PREFIX) == []
        assert _count(tx) == 0
    with db.transaction() as tx:
        first = _user(tx, "same-time-1@example.com", T0)
        second = _user(tx, "same-time-2@example.com", T0)
    with db.transaction(readonly=True) as tx:
        created = [u.id for u in user_listing.list_users(tx, at=AT, lock_key_prefix=PREFIX)]
        newest = [
            u.id for u in user_listing.list_users(tx, at=AT, lock_key_prefix=PREFIX, sort="newest")
        ]
    assert created == sorted([first.id, second.id]) and newest == created[::-1]
