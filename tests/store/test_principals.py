"""The one read behind every authenticated request: live session, its user, 2FA on or off."""

from __future__ import annotations

from tests.store.conftest import T0, add_device, later
from twostep.store import Database, principals, sessions, users


def _session(db: Database, user_id: str) -> sessions.UserSession:
    with db.transaction() as tx:
        return sessions.create(
            tx, user_id=user_id, refresh_hash=f"r-{user_id}", at=T0, expires_at=later(3600),
            amr=["pwd"],
        )  # fmt: skip


def test_a_live_session_comes_with_its_user_and_two_factor_state(
    db: Database, user_id: str
) -> None:
    session = _session(db, user_id)
    with db.transaction(readonly=True) as tx:
        found = principals.get_live(tx, session.id, later(10))
        user = users.get(tx, user_id)
    assert found is not None and found.session == session and found.user == user
    assert found.two_factor is False

    with db.transaction() as tx:
        add_device(tx, user_id, active=False)  # pending: not a factor yet
    with db.transaction(readonly=True) as tx:
        pending = principals.get_live(tx, session.id, later(10))
    assert pending is not None and pending.two_factor is False

    with db.transaction() as tx:
        add_device(tx, user_id, name="second")
    with db.transaction(readonly=True) as tx:
        enrolled = principals.get_live(tx, session.id, later(10))
    assert enrolled is not None and enrolled.two_factor is True


def test_a_revoked_expired_or_unknown_session_is_no_principal(db: Database, user_id: str) -> None:
    session = _session(db, user_id)
    with db.transaction(readonly=True) as tx:
        assert principals.get_live(tx, session.id, later(3600)) is None  # expired at that instant
        assert principals.get_live(tx, "no-such-session", later(10)) is None
    with db.transaction() as tx:
        assert sessions.revoke(tx, session.id, later(20))
    with db.transaction(readonly=True) as tx:
        assert principals.get_live(tx, session.id, later(30)) is None
