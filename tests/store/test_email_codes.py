"""Email code repository: one live code per address and purpose, single use."""

from __future__ import annotations

from tests.store.conftest import T0, later
from twostep.store import Database, email_codes


def test_issue_get_attempts_and_consume(db: Database, user_id: str) -> None:
    with db.transaction() as tx:
        code = email_codes.issue(
            tx,
            email="alice@example.com",
            purpose="verify",
            code_hash="h1",
            at=T0,
            expires_at=later(600),
            user_id=user_id,
        )
        assert email_codes.get(tx, "alice@example.com", "verify") == code
        assert email_codes.get(tx, "alice@example.com", "signin") is None
        assert code.is_active(later(599)) and not code.is_active(later(600))
        assert email_codes.register_attempt(tx, code.id) == 1
        assert email_codes.register_attempt(tx, code.id) == 2
        assert email_codes.consume(tx, code.id, later(5))
        assert not email_codes.consume(tx, code.id, later(6))
        assert email_codes.register_attempt(tx, code.id) is None
        used = email_codes.get(tx, "alice@example.com", "verify")
    assert used is not None and used.used_at == later(5) and used.attempts == 2
    assert not used.is_active(later(6))


def test_a_resend_replaces_the_previous_code(db: Database) -> None:
    with db.transaction() as tx:
        first = email_codes.issue(
            tx,
            email="a@example.com",
            purpose="signin",
            code_hash="h1",
            at=T0,
            expires_at=later(600),
        )
        email_codes.register_attempt(tx, first.id)
        second = email_codes.issue(
            tx,
            email="a@example.com",
            purpose="signin",
            code_hash="h2",
            at=later(60),
            expires_at=later(660),
        )
        assert second.id != first.id
        assert (second.code_hash, second.attempts, second.created_at) == ("h2", 0, later(60))
        assert email_codes.get(tx, "a@example.com", "signin") == second
        assert not email_codes.consume(tx, first.id, later(61))  # the old code is dead
        assert email_codes.consume(tx, second.id, later(61))
        third = email_codes.issue(
            tx,
            email="a@example.com",
            purpose="signin",
            code_hash="h3",
            at=later(120),
            expires_at=later(720),
        )
        assert third.used_at is None and third.is_active(later(121))


def test_expiry_and_housekeeping(db: Database) -> None:
    with db.transaction() as tx:
        code = email_codes.issue(
            tx, email="a@example.com", purpose="verify", code_hash="h", at=T0, expires_at=later(600)
        )
        assert not email_codes.consume(tx, code.id, later(600))
        assert email_codes.delete_expired(tx, later(599)) == 0
        assert email_codes.delete_expired(tx, later(601)) == 1
        email_codes.issue(
            tx, email="a@example.com", purpose="verify", code_hash="h", at=T0, expires_at=later(9)
        )
        assert email_codes.delete(tx, "a@example.com", "verify")
        assert not email_codes.delete(tx, "a@example.com", "verify")
