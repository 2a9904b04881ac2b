"""Challenge repository: attempts counted atomically, completion once and before expiry."""

from __future__ import annotations

from tests.store.conftest import T0, later
from twostep.store import Database, challenges, sessions


def test_create_get_attempts_and_complete(db: Database, user_id: str) -> None:
    with db.transaction() as tx:
        created = challenges.create(
            tx,
            user_id=user_id,
            purpose="login",
            methods=["totp", "backup_code"],
            amr=["pwd"],
            at=T0,
            expires_at=later(300),
            ip="203.0.113.9",
            user_agent="x" * 2000,
        )
    with db.transaction() as tx:
        stored = challenges.get(tx, created.id)
        assert stored == created
        assert stored is not None and stored.methods == ("totp", "backup_code")
        assert stored.amr == ("pwd",) and stored.user_agent == "x" * 512
        assert stored.is_open(later(299)) and not stored.is_open(later(300))
        counted = [challenges.register_attempt(tx, created.id) for _ in range(3)]
        assert [c.attempts if c else None for c in counted] == [1, 2, 3]
        assert counted[0] is not None and counted[0].id == created.id
        assert challenges.complete(tx, created.id, later(10))
        assert not challenges.complete(tx, created.id, later(11))
        assert challenges.register_attempt(tx, created.id) is None
        assert challenges.register_attempt(tx, "missing") is None
        done = challenges.get(tx, created.id)
    assert done is not None and done.attempts == 3 and done.completed_at == later(10)
    assert not done.is_open(later(11))


def test_an_expired_challenge_cannot_complete(db: Database, user_id: str) -> None:
    with db.transaction() as tx:
        challenge = challenges.create(
            tx, user_id=user_id, purpose="login", methods=["totp"], at=T0, expires_at=later(60)
        )
        assert not challenges.complete(tx, challenge.id, later(60))
        assert challenges.delete_expired(tx, later(61)) == 1
        assert challenges.get(tx, challenge.id) is None


def test_an_elevation_challenge_belongs_to_a_session(db: Database, user_id: str) -> None:
    with db.transaction() as tx:
        session = sessions.create(
            tx, user_id=user_id, refresh_hash="r", at=T0, expires_at=later(3600), amr=["pwd"]
        )
        challenge = challenges.create(
            tx,
            user_id=user_id,
            purpose="elevate",
            methods=["totp"],
            at=T0,
            expires_at=later(60),
            session_id=session.id,
        )
        assert challenge.session_id == session.id
        assert sessions.delete_expired(tx, later(7200)) == 1
        assert challenges.get(tx, challenge.id) is None  # cascaded with its session
