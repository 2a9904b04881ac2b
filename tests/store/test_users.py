"""User repository: uniqueness, look-ups, changes and the admin listing."""

from __future__ import annotations

import threading
import time

from tests.store.conftest import T0, add_device, add_user, later
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
        assert users.count_users(tx) == 2


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


def test_list_users_with_2fa_status_filters_and_pages(db: Database) -> None:
    with db.transaction() as tx:
        alice = add_user(tx, "alice@example.com")
        bob = users.create(tx, email="bob_x@corp.test", password_hash="h", at=later(1))
        carol = users.create(
            tx, email="carol@example.com", password_hash="h", at=later(2), role="admin"
        )
        assert bob is not None and carol is not None
        add_device(tx, alice.id)
        add_device(tx, alice.id, name="tablet")
        add_device(tx, bob.id, active=False)
        users.set_active(tx, carol.id, False)
        users.set_email_verified(tx, bob.id, T0)
    with db.transaction(readonly=True) as tx:
        listed = users.list_users(tx)
        assert [u.email for u in listed] == [
            "alice@example.com",
            "bob_x@corp.test",
            "carol@example.com",
        ]
        assert [u.active_devices for u in listed] == [2, 0, 0]
        assert [u.has_2fa for u in listed] == [True, False, False]
        assert [u.id for u in users.list_users(tx, has_2fa=True)] == [alice.id]
        assert [u.id for u in users.list_users(tx, has_2fa=False)] == [bob.id, carol.id]
        assert [u.id for u in users.list_users(tx, role="admin")] == [carol.id]
        assert [u.id for u in users.list_users(tx, is_active=False)] == [carol.id]
        assert [u.id for u in users.list_users(tx, verified=True)] == [bob.id]
        assert [u.id for u in users.list_users(tx, query="EXAMPLE")] == [alice.id, carol.id]
        assert [u.id for u in users.list_users(tx, query="_")] == [bob.id]  # literal
        assert [u.id for u in users.list_users(tx, query="%")] == []
        assert [u.id for u in users.list_users(tx, limit=1, offset=1)] == [bob.id]
        assert users.count_users(tx) == 3
        assert users.count_users(tx, has_2fa=False, is_active=True) == 1


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
