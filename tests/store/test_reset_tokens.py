"""Reset token repository: hashed, single use, expiring."""

from __future__ import annotations

from tests.store.conftest import T0, later
from twostep.store import Database, reset_tokens


def test_a_token_works_once(db: Database, user_id: str) -> None:
    with db.transaction() as tx:
        token = reset_tokens.create(
            tx, user_id=user_id, token_hash="th", at=T0, expires_at=later(3600)
        )
        assert reset_tokens.get_valid(tx, "th", later(10)) == token
        assert reset_tokens.consume(tx, "th", later(10)) == user_id
        assert reset_tokens.consume(tx, "th", later(11)) is None
        assert reset_tokens.get_valid(tx, "th", later(11)) is None
        assert reset_tokens.consume(tx, "unknown", later(11)) is None


def test_an_expired_token_is_refused(db: Database, user_id: str) -> None:
    with db.transaction() as tx:
        reset_tokens.create(tx, user_id=user_id, token_hash="th", at=T0, expires_at=later(3600))
        assert reset_tokens.get_valid(tx, "th", later(3600)) is None
        assert reset_tokens.consume(tx, "th", later(3600)) is None
        assert reset_tokens.delete_expired(tx, later(3601)) == 1


def test_invalidate_all_for_a_user(db: Database, user_id: str) -> None:
    with db.transaction() as tx:
        for n in range(3):
            reset_tokens.create(
                tx, user_id=user_id, token_hash=f"t{n}", at=T0, expires_at=later(3600)
            )
        reset_tokens.consume(tx, "t0", later(1))
        assert reset_tokens.invalidate_all(tx, user_id, later(2)) == 2
        assert reset_tokens.consume(tx, "t1", later(3)) is None
