"""Session repository: rotation once, revocation, elevation, listing."""

from __future__ import annotations

from tests.store.conftest import T0, add_user, later
from twostep.store import Database, sessions


def _new(db: Database, user_id: str, refresh: str, **kwargs: object) -> sessions.UserSession:
    with db.transaction() as tx:
        return sessions.create(
            tx,
            user_id=user_id,
            refresh_hash=refresh,
            at=T0,
            expires_at=later(3600),
            amr=["pwd", "otp"],
            **kwargs,  # type: ignore[arg-type]
        )


def test_create_and_read_back(db: Database, user_id: str) -> None:
    created = _new(db, user_id, "r1", ip="198.51.100.7", user_agent="ua", purpose="enroll")
    with db.transaction(readonly=True) as tx:
        assert sessions.get(tx, created.id) == created
        assert sessions.get_active(tx, created.id, later(10)) == created
        assert sessions.get_active(tx, created.id, later(3600)) is None
        assert sessions.get_by_refresh_hash(tx, "r1") == created
    assert created.family_id == created.id and created.auth_time == T0
    assert created.amr == ("pwd", "otp") and created.purpose == "enroll"
    assert created.is_active(later(1)) and not created.is_elevated(later(1))


def test_refresh_rotates_once(db: Database, user_id: str) -> None:
    session = _new(db, user_id, "r1")
    with db.transaction() as tx:
        rotated = sessions.rotate_refresh(
            tx, old_hash="r1", new_hash="r2", at=later(60), expires_at=later(7200)
        )
        assert rotated is not None and rotated.id == session.id
        assert rotated.refresh_hash == "r2" and rotated.expires_at == later(7200)
        assert rotated.last_seen_at == later(60) and rotated.amr == ("pwd", "otp")
        assert sessions.rotate_refresh(tx, old_hash="r1", new_hash="r3", at=later(61)) is None
        assert sessions.get_by_refresh_hash(tx, "r1") is None
        assert sessions.revoke(tx, session.id, later(62))
        assert sessions.rotate_refresh(tx, old_hash="r2", new_hash="r4", at=later(63)) is None


def test_elevation_purpose_and_touch(db: Database, user_id: str) -> None:
    session = _new(db, user_id, "r1", purpose="enroll")
    with db.transaction() as tx:
        assert sessions.set_elevated_until(tx, session.id, later(900), later(1))
        assert sessions.set_purpose(tx, session.id, "full", later(2), amr=["pwd", "otp"])
        assert sessions.touch(tx, session.id, later(3))
        current = sessions.get(tx, session.id)
        assert current is not None and current.purpose == "full"
        assert current.is_elevated(later(899)) and not current.is_elevated(later(900))
        assert current.last_seen_at == later(3)
        assert sessions.set_elevated_until(tx, session.id, None, later(4))
        sessions.revoke(tx, session.id, later(5))
        assert not sessions.set_elevated_until(tx, session.id, later(900), later(6))
        assert not sessions.touch(tx, session.id, later(6))
        assert not sessions.set_purpose(tx, session.id, "full", later(6))


def test_revocation_by_one_family_and_user(db: Database, user_id: str) -> None:
    with db.transaction() as tx:
        other = add_user(tx, "mallory@example.com").id
    a = _new(db, user_id, "a")
    b = _new(db, user_id, "b", family_id=a.id)
    assert b.family_id == a.id
    c = _new(db, user_id, "c")
    d = _new(db, user_id, "d")
    theirs = _new(db, other, "t")
    with db.transaction() as tx:
        assert not sessions.revoke(tx, theirs.id, later(1), user_id=user_id)
        assert sessions.revoke_family(tx, a.id, later(1)) == 2
        listed = [s.id for s in sessions.list_active_for_user(tx, user_id, later(2))]
        assert sorted(listed) == sorted([c.id, d.id])
        assert sessions.revoke_all_for_user(tx, user_id, later(3), except_session_id=d.id) == 1
        assert [s.id for s in sessions.list_active_for_user(tx, user_id, later(4))] == [d.id]
        assert sessions.revoke_all_for_user(tx, user_id, later(5)) == 1
        assert sessions.list_active_for_user(tx, user_id, later(6)) == []
        assert sessions.get_active(tx, theirs.id, later(6)) is not None
        revoked = sessions.get(tx, a.id)
    assert revoked is not None and revoked.revoked_at == later(1)
    assert not revoked.is_active(later(2))
