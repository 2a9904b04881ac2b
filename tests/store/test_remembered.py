"""Remembered browsers: a token hash counts for its user only, until it expires."""

from __future__ import annotations

from tests.store.conftest import T0, add_user, later
from twostep.store import Database, remembered


def test_a_token_counts_for_its_user_until_it_expires(db: Database, user_id: str) -> None:
    with db.transaction() as tx:
        bob = add_user(tx, "bob@example.com")
        browser = remembered.create(
            tx, user_id=user_id, token_hash="a" * 64, user_agent="Firefox on Linux" * 20,
            at=T0, expires_at=later(3600),
        )  # fmt: skip
        assert browser.user_agent is not None and len(browser.user_agent) == 128
        assert remembered.use(tx, user_id, "a" * 64, later(10))
        assert not remembered.use(tx, bob.id, "a" * 64, later(10))
        assert not remembered.use(tx, user_id, "b" * 64, later(10))
        assert not remembered.use(tx, user_id, "a" * 64, later(3600))
        (listed,) = remembered.list_for_user(tx, user_id, later(10))
        assert listed.last_used_at == later(10)
        assert remembered.list_for_user(tx, user_id, later(3600)) == []


def test_forgetting_one_or_all(db: Database, user_id: str) -> None:
    with db.transaction() as tx:
        bob = add_user(tx, "bob@example.com")
        rows = [
            remembered.create(
                tx,
                user_id=owner,
                token_hash=f"{n}" * 64,
                user_agent=None,
                at=T0,
                expires_at=later(3600),
            )  # fmt: skip
            for n, owner in enumerate([user_id, user_id, bob.id])
        ]
        assert not remembered.delete(tx, rows[0].id, bob.id)
        assert remembered.delete(tx, rows[0].id, user_id)
        assert remembered.delete_all_for_user(tx, user_id) == 1
        assert len(remembered.list_for_user(tx, bob.id, T0)) == 1
        assert remembered.delete_expired(tx, later(3601)) == 1
