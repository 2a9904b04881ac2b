"""Retired refresh-token hashes: recorded once, read back, gone with their session."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy.exc import IntegrityError

from tests.store.conftest import T0, later
from twostep.store import Database, refresh_tokens, sessions, users


def _session(
    db: Database, user_id: str, refresh: str, *, expires_at: datetime | None = None, **kw: object
) -> sessions.UserSession:
    with db.transaction() as tx:
        return sessions.create(
            tx,
            user_id=user_id,
            refresh_hash=refresh,
            at=T0,
            expires_at=expires_at or later(3600),
            amr=["pwd"],
            **kw,  # type: ignore[arg-type]
        )


def test_retire_and_read_back(db: Database, user_id: str) -> None:
    session = _session(db, user_id, "r1")
    with db.transaction() as tx:
        first = refresh_tokens.retire(
            tx, token_hash="r0", session_id=session.id, family_id=session.family_id, at=later(1)
        )
        second = refresh_tokens.retire(
            tx, token_hash="r-1", session_id=session.id, family_id=session.family_id, at=later(2)
        )
    with db.transaction(readonly=True) as tx:
        assert refresh_tokens.get(tx, "r0") == first
        assert refresh_tokens.get(tx, "r1") is None  # current, not retired
        assert refresh_tokens.get(tx, "unknown") is None
        assert refresh_tokens.get(tx, "r-1") == second
    assert first.retired_at == later(1) and first.family_id == session.id


def test_a_hash_is_retired_once(db: Database, user_id: str) -> None:
    session = _session(db, user_id, "r1")
    with db.transaction() as tx:
        refresh_tokens.retire(
            tx, token_hash="r0", session_id=session.id, family_id=session.family_id, at=later(1)
        )
    with pytest.raises(IntegrityError), db.transaction() as tx:
        refresh_tokens.retire(
            tx, token_hash="r0", session_id=session.id, family_id=session.family_id, at=later(2)
        )
    with db.transaction(readonly=True) as tx:
        kept = refresh_tokens.get(tx, "r0")
    assert kept is not None and kept.retired_at == later(1)  # the first one stands


def test_a_retired_hash_needs_its_session(db: Database, user_id: str) -> None:
    with pytest.raises(IntegrityError), db.transaction() as tx:
        refresh_tokens.retire(tx, token_hash="r0", session_id="no-such", family_id="f", at=T0)


def test_retired_hashes_go_with_their_session_and_user(db: Database, user_id: str) -> None:
    short = _session(db, user_id, "short", expires_at=later(60))
    kept = _session(db, user_id, "kept", family_id=short.family_id)
    with db.transaction() as tx:
        for session, old in ((short, "short0"), (kept, "kept0")):
            refresh_tokens.retire(
                tx, token_hash=old, session_id=session.id, family_id=session.family_id, at=T0
            )
        # Housekeeping drops expired sessions; their retired hashes cascade away.
        assert sessions.delete_expired(tx, later(61)) == 1
        assert refresh_tokens.get(tx, "short0") is None
        assert refresh_tokens.get(tx, "kept0") is not None
        assert users.delete(tx, user_id)
        assert refresh_tokens.get(tx, "kept0") is None
