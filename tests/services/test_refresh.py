"""Refresh-token rotation and reuse detection, on SQLite and PostgreSQL (DESIGN §4.9)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta

import pytest

from tests.services.conftest import ORIGIN
from tests.support.concurrency import named, together
from twostep.clock import ManualClock
from twostep.errors import Unauthenticated
from twostep.security import new_token
from twostep.services import refresh, sessions
from twostep.services.context import Context
from twostep.store import audit, refresh_tokens, users
from twostep.store import sessions as session_store

THREADS = 10
MakeUser = Callable[..., users.User]


def sign_in(ctx: Context, user: users.User, amr: list[str] | None = None) -> sessions.IssuedSession:
    with ctx.db.transaction() as tx:
        return sessions.start(tx, ctx, user, amr=amr or ["pwd", "otp"], at=ctx.clock.now(),
                              origin=ORIGIN)  # fmt: skip


def join_family(ctx: Context, user: users.User, family_id: str) -> sessions.IssuedSession:
    """A second session in ``family_id``, made with the store (sign-in starts new families)."""
    token = new_token()
    at = ctx.clock.now()
    with ctx.db.transaction() as tx:
        session = session_store.create(
            tx, user_id=user.id, refresh_hash=sessions.refresh_hash(ctx, token), at=at,
            expires_at=at + timedelta(days=1), amr=["pwd"], family_id=family_id,
        )  # fmt: skip
    return sessions.IssuedSession(session, token, user)


def current(ctx: Context, session_id: str) -> session_store.UserSession:
    with ctx.db.transaction(readonly=True) as tx:
        session = session_store.get(tx, session_id)
    assert session is not None
    return session


def events(ctx: Context, event: str) -> list[audit.AuditEvent]:
    with ctx.db.transaction(readonly=True) as tx:
        return audit.query(tx, event=event, limit=100)


def test_rotation_issues_a_new_token_for_the_same_session(
    ctx: Context, clock: ManualClock, make_user: MakeUser
) -> None:
    user = make_user()
    first = sign_in(ctx, user)
    with ctx.db.transaction() as tx:
        assert session_store.set_elevated_until(
            tx, first.session.id, clock.now() + timedelta(minutes=15), clock.now()
        )
    clock.advance(60)
    issued = refresh.rotate(ctx, first.refresh_token, ORIGIN)
    assert issued.refresh_token != first.refresh_token
    session, before = issued.session, first.session
    assert session.id == before.id and session.family_id == before.family_id
    assert session.amr == ("pwd", "otp") and session.auth_time == before.auth_time
    assert session.purpose == before.purpose and session.expires_at == before.expires_at
    assert session.elevated_until == before.created_at + timedelta(minutes=15)
    assert session.last_seen_at == clock.now()
    assert session.refresh_hash == sessions.refresh_hash(ctx, issued.refresh_token)
    assert current(ctx, session.id) == session
    with ctx.db.transaction(readonly=True) as tx:
        retired = refresh_tokens.get(tx, sessions.refresh_hash(ctx, first.refresh_token))
    assert retired is not None and retired.session_id == session.id
    (row,) = events(ctx, "session.refreshed")
    assert row.outcome == "success" and row.user_id == user.id
    assert row.details == {"session_id": session.id, "family_id": session.family_id}
    assert row.ip == ORIGIN.ip


def test_a_chain_of_rotations_keeps_working(ctx: Context, make_user: MakeUser) -> None:
    issued = sign_in(ctx, make_user())
    tokens = {issued.refresh_token}
    for _ in range(3):
        issued = refresh.rotate(ctx, issued.refresh_token, ORIGIN)
        tokens.add(issued.refresh_token)
    assert len(tokens) == 4
    assert refresh.session_for_refresh_token(ctx, issued.refresh_token) == issued.session
    assert len(events(ctx, "session.refreshed")) == 3


def test_elevation_is_kept_but_never_extended(
    ctx: Context, clock: ManualClock, make_user: MakeUser
) -> None:
    issued = sign_in(ctx, make_user())
    until = clock.now() + timedelta(minutes=15)
    with ctx.db.transaction() as tx:
        session_store.set_elevated_until(tx, issued.session.id, until, clock.now())
    clock.advance(16 * 60)
    rotated = refresh.rotate(ctx, issued.refresh_token, ORIGIN).session
    assert rotated.elevated_until == until and not rotated.is_elevated(clock.now())


def test_reuse_of_a_rotated_token_revokes_the_whole_family(
    ctx: Context, clock: ManualClock, make_user: MakeUser
) -> None:
    user = make_user()
    first = sign_in(ctx, user)
    sibling = join_family(ctx, user, first.session.family_id)
    outsider = sign_in(ctx, user)
    rotated = refresh.rotate(ctx, first.refresh_token, ORIGIN)
    clock.advance(5)
    with pytest.raises(Unauthenticated):
        refresh.rotate(ctx, first.refresh_token, ORIGIN)
    for victim in (first, sibling):
        assert current(ctx, victim.session.id).revoked_at == clock.now()
        assert refresh.active_session(ctx, victim.session.id) is None
    assert refresh.active_session(ctx, outsider.session.id) == outsider.session
    for dead in (rotated, sibling):
        with pytest.raises(Unauthenticated):
            refresh.rotate(ctx, dead.refresh_token, ORIGIN)
    refresh.rotate(ctx, outsider.refresh_token, ORIGIN)
    (reuse,) = events(ctx, "session.refresh_reuse")
    assert reuse.outcome == "denied" and reuse.user_id == user.id
    assert reuse.details["session_id"] == first.session.id
    assert reuse.details["family_id"] == first.session.family_id
    assert reuse.details["revoked_sessions"] == 2


def test_reuse_revokes_even_when_the_token_is_replayed_late(
    ctx: Context, clock: ManualClock, make_user: MakeUser
) -> None:
    first = sign_in(ctx, make_user())
    rotated = refresh.rotate(ctx, first.refresh_token, ORIGIN)
    refresh.rotate(ctx, rotated.refresh_token, ORIGIN)
    clock.advance(3600)
    with pytest.raises(Unauthenticated):
        refresh.rotate(ctx, first.refresh_token, ORIGIN)  # two rotations old
    assert current(ctx, first.session.id).revoked_at == clock.now()


def test_an_expired_session_is_refused(
    ctx: Context, clock: ManualClock, make_user: MakeUser
) -> None:
    issued = sign_in(ctx, make_user())
    clock.advance(timedelta(days=ctx.settings.session_days).total_seconds())
    with pytest.raises(Unauthenticated):
        refresh.rotate(ctx, issued.refresh_token, ORIGIN)
    assert refresh.session_for_refresh_token(ctx, issued.refresh_token) is None
    assert refresh.active_session(ctx, issued.session.id) is None
    assert current(ctx, issued.session.id).refresh_hash == issued.session.refresh_hash
    (row,) = events(ctx, "session.refresh")
    assert row.outcome == "failure" and row.details["reason"] == "expired"
    assert events(ctx, "session.refresh_reuse") == []


def test_a_revoked_session_is_refused_at_once(ctx: Context, make_user: MakeUser) -> None:
    user = make_user()
    issued = sign_in(ctx, user)
    principal = sessions.resolve(ctx, issued.session.id)
    assert refresh.session_for_refresh_token(ctx, issued.refresh_token) == issued.session
    sessions.revoke(ctx, principal, issued.session.id, ORIGIN)  # logout
    assert refresh.active_session(ctx, issued.session.id) is None
    assert refresh.session_for_refresh_token(ctx, issued.refresh_token) is None
    with pytest.raises(Unauthenticated):
        refresh.rotate(ctx, issued.refresh_token, ORIGIN)
    (row,) = events(ctx, "session.refresh")
    assert row.details["reason"] == "revoked" and row.user_id == user.id


def test_a_disabled_user_cannot_refresh(ctx: Context, make_user: MakeUser) -> None:
    user = make_user()
    issued = sign_in(ctx, user)
    with ctx.db.transaction() as tx:
        users.set_active(tx, user.id, False)
    with pytest.raises(Unauthenticated):
        refresh.rotate(ctx, issued.refresh_token, ORIGIN)
    assert refresh.active_session(ctx, issued.session.id) is None
    assert refresh.session_for_refresh_token(ctx, issued.refresh_token) is None
    assert current(ctx, issued.session.id).refresh_hash == issued.session.refresh_hash


@pytest.mark.parametrize("token", ["", "not-a-token", "x" * 10_000, "٣" * 43])
def test_unknown_tokens_are_refused_quietly(ctx: Context, make_user: MakeUser, token: str) -> None:
    issued = sign_in(ctx, make_user())
    with pytest.raises(Unauthenticated):
        refresh.rotate(ctx, token, ORIGIN)
    assert refresh.session_for_refresh_token(ctx, token) is None
    assert refresh.active_session(ctx, issued.session.id) == issued.session
    assert events(ctx, "session.refresh_reuse") == events(ctx, "session.refresh") == []


def test_a_retired_token_is_inactive_but_introspection_revokes_nothing(
    ctx: Context, make_user: MakeUser
) -> None:
    first = sign_in(ctx, make_user())
    rotated = refresh.rotate(ctx, first.refresh_token, ORIGIN)
    assert refresh.session_for_refresh_token(ctx, first.refresh_token) is None
    assert refresh.session_for_refresh_token(ctx, rotated.refresh_token) == rotated.session
    assert refresh.active_session(ctx, first.session.id) == rotated.session


def test_audit_rows_hold_no_token(ctx: Context, make_user: MakeUser) -> None:
    first = sign_in(ctx, make_user())
    rotated = refresh.rotate(ctx, first.refresh_token, ORIGIN)
    with pytest.raises(Unauthenticated):
        refresh.rotate(ctx, first.refresh_token, ORIGIN)
    with ctx.db.transaction(readonly=True) as tx:
        rows = audit.query(tx, limit=100)
    dumped = json.dumps([[r.event, r.details] for r in rows], default=str)
    for secret in (first.refresh_token, rotated.refresh_token):
        assert secret not in dumped
        assert sessions.refresh_hash(ctx, secret) not in dumped


def test_concurrent_rotations_of_one_token(ctx: Context, make_user: MakeUser) -> None:
    """Ten presenters of one token at once: one wins, the rest are reuse, the family dies."""
    issued = sign_in(ctx, make_user())
    results = together([lambda: refresh.rotate(ctx, issued.refresh_token, ORIGIN)] * THREADS)
    outcomes = named(results)
    winners = [r for r in results if isinstance(r, sessions.IssuedSession)]
    assert sorted(outcomes) == ["Unauthenticated"] * (THREADS - 1) + ["ok"], outcomes
    assert current(ctx, issued.session.id).revoked_at is not None
    reuse = events(ctx, "session.refresh_reuse")
    assert len(reuse) == THREADS - 1
    assert sum(int(row.details["revoked_sessions"]) for row in reuse) == 1
    assert len(events(ctx, "session.refreshed")) == 1
    with pytest.raises(Unauthenticated):
        refresh.rotate(ctx, winners[0].refresh_token, ORIGIN)
