"""User repository: uniqueness, look-ups, changes, the active administrators, labels."""

from __future__ import annotations

import threading
import time

from tests.store.conftest import T0, add_user, later
from twostep.store import Database, users


def test_create_and_get(db: Database) -> None:
    with db.transaction() as tx:
        created = add_user(tx, "bob@example.com")
    with db.transaction(readonly=True) as tx:
        assert users.get(tx, created.id) == created
        assert users.get_by_email(tx, "bob@example.com") == created
        assert users.get(tx, "missing") is None
        assert users.get_by_email(tx, "nobody@example.com") is None
    assert created.role == "user" and created.is_active and created.token_version == 0
    assert created.email_verified_at is None and created.created_at == T0


def test_a_taken_email_gives_none_and_leaves_the_transaction_usable(db: Database) -> None:
    with db.transaction() as tx:
        add_user(tx, "bob@example.com")
    with db.transaction() as tx:
        again = users.create(tx, email="bob@example.com", password_hash="h", at=T0)
        assert again is None
        assert add_user(tx, "carol@example.com").email == "carol@example.com"
    with db.transaction() as tx:
        assert users.get_by_email(tx, "bob@example.com") is not None
        assert users.get_by_email(tx, "carol@example.com") is not None


def test_setters(db: Database, user_id: str) -> None:
    with db.transaction() as tx:
        assert users.set_password_hash(tx, user_id, "new-hash")
        assert users.set_email_verified(tx, user_id, later(5))
        assert users.set_role(tx, user_id, "admin")
        assert users.set_active(tx, user_id, False)
        assert users.bump_token_version(tx, user_id) == 1
        assert users.bump_token_version(tx, user_id) == 2
        assert not users.set_role(tx, "missing", "admin")
        assert users.bump_token_version(tx, "missing") is None
    with db.transaction() as tx:
        user = users.get(tx, user_id)
    assert user is not None
    assert (user.password_hash, user.role) == ("new-hash", "admin")
    assert user.email_verified_at == later(5)
    assert not user.is_active and user.token_version == 2


def test_set_email_refuses_a_taken_address_without_breaking_the_transaction(
    db: Database, user_id: str
) -> None:
    with db.transaction() as tx:
        add_user(tx, "taken@example.com")
    with db.transaction() as tx:
        assert not users.set_email(tx, user_id, "taken@example.com")
        assert users.set_email(tx, user_id, "fresh@example.com", verified_at=later(1))
    with db.transaction() as tx:
        user = users.get(tx, user_id)
    assert user is not None
    assert user.email == "fresh@example.com" and user.email_verified_at == later(1)


def test_active_admin_ids_in_id_order(db: Database) -> None:
    with db.transaction() as tx:
        first = add_user(tx, "root@example.com", role="admin", user_id="b-admin")
        second = add_user(tx, "ops@example.com", role="admin", user_id="a-admin")
        add_user(tx, "gone@example.com", role="admin", is_active=False)
        add_user(tx, "alice@example.com")
    with db.transaction(readonly=True) as tx:
        assert users.active_admin_ids(tx) == [second.id, first.id]
    with db.transaction() as tx:
        assert users.active_admin_ids(tx, for_update=True) == [second.id, first.id]
        users.set_role(tx, second.id, "user")
        assert users.active_admin_ids(tx, for_update=True) == [first.id]


def test_locking_the_admins_serialises_two_demotions(db: Database) -> None:
    """A second locker of the admin rows waits for the first to commit, then sees its change
    (row locks on PostgreSQL, the write lock on SQLite)."""
    with db.transaction() as tx:
        root = add_user(tx, "root@example.com", role="admin")
        ops = add_user(tx, "ops@example.com", role="admin")
    seen: list[list[str]] = []

    def second() -> None:
        with db.transaction() as tx:
            seen.append(users.active_admin_ids(tx, for_update=True))

    with db.transaction() as tx:
        assert len(users.active_admin_ids(tx, for_update=True)) == 2
        waiter = threading.Thread(target=second)
        waiter.start()
        time.sleep(0.3)
        assert seen == []  # still waiting on the lock
        users.set_role(tx, ops.id, "user")
    waiter.join(timeout=10)
    assert seen == [[root.id]]


def test_emails_by_id(db: Database) -> None:
    with db.transaction() as tx:
        alice = add_user(tx, "alice@example.com")
        bob = add_user(tx, "bob@example.com")
    with db.transaction(readonly=True) as tx:
        assert users.emails_by_id(tx, {alice.id, bob.id, "gone"}) == {
            alice.id: "alice@example.com",
            bob.id: "bob@example.com",
        }
        assert users.emails_by_id(tx, ["gone"]) == {}
        assert users.emails_by_id(tx, []) == {}


def test_delete(db: Database, user_id: str) -> None:
    with db.transaction() as tx:
        assert users.delete(tx, user_id)
        assert not users.delete(tx, user_id)
        assert users.get(tx, user_id) is None


def test_get_for_update_serialises_writers_to_one_user(db: Database, user_id: str) -> None:
    """A second locker waits for the first to commit (row lock on PostgreSQL, write lock
    on SQLite), so it reads the committed change."""
    seen: list[int] = []

    def second() -> None:
        with db.transaction() as tx:
            user = users.get(tx, user_id, for_update=True)
            assert user is not None
            seen.append(user.token_version)

    with db.transaction() as tx:
        assert users.get(tx, user_id, for_update=True) is not None
        assert users.get(tx, "missing", for_update=True) is None
        waiter = threading.Thread(target=second)
        waiter.start()
        time.sleep(0.3)
        assert seen == []  # still waiting on the lock
        users.bump_token_version(tx, user_id)
    waiter.join(timeout=10)
    assert seen == [1]
