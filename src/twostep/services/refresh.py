"""Refresh-token rotation with reuse detection, and the session look-ups behind introspection.

A refresh token is opaque and stored only as a keyed hash (DESIGN §4.9). Each use rotates
it: the session keeps its id, ``amr``, ``auth_time``, purpose and ``elevated_until``, and
gets a new token; the old hash moves to :mod:`twostep.store.refresh_tokens`. Presenting a
retired token again is *reuse*: the token leaked, or a client replays it, and nobody can
tell the thief from the owner, so every session of its family is revoked and both lose.

Invariants:

- one token rotates at most once. The swap is the conditional ``UPDATE`` of
  :func:`twostep.store.sessions.rotate_refresh`, and the old hash is retired in the same
  transaction, so whoever sees the token gone also sees it retired;
- two presenters racing with one token: exactly one wins, and the other is handled as reuse,
  which revokes the family, the winner's fresh session included. This follows the OAuth 2.0
  Security BCP (RFC 9700 §4.14.2), which gives the server no way to tell a client racing
  itself from an attacker replaying a stolen token. A client must therefore serialise its
  own refreshes;
- refreshing never extends a session: it ends ``session_days`` after sign-in, and an
  elevation ends at its own ``elevated_until``;
- a refusal tells the client nothing more than :class:`Unauthenticated`; the audit log holds
  the reason, and never a token.
"""

from __future__ import annotations

from datetime import datetime

from twostep.errors import Unauthenticated
from twostep.security import new_token
from twostep.services import audit
from twostep.services.context import Context, Origin
from twostep.services.sessions import IssuedSession, refresh_hash
from twostep.store import Tx, refresh_tokens, users
from twostep.store import sessions as store

__all__ = ["MAX_TOKEN_LENGTH", "active_session", "rotate", "session_for_refresh_token"]

MAX_TOKEN_LENGTH = 512
"""Longer input is refused without hashing it: issued tokens are 43 characters."""


def rotate(ctx: Context, refresh_token: str, origin: Origin) -> IssuedSession:
    """Spend ``refresh_token`` and return its session with a new one, or :class:`Unauthenticated`.

    The token is refused when it is unknown, its session is revoked or expired, or its user
    is disabled. A token that was already rotated away revokes its whole family first (the
    revocation and its ``session.refresh_reuse`` audit row are committed, then the call
    raises). Example::

        issued = refresh.rotate(ctx, token_from_client, origin)
        send_back(issued.refresh_token)  # the old token is dead from now on
    """
    if not refresh_token or len(refresh_token) > MAX_TOKEN_LENGTH:
        raise Unauthenticated()
    at = ctx.clock.now()
    old_hash = refresh_hash(ctx, refresh_token)
    token = new_token()
    with ctx.db.transaction() as tx:
        issued = _rotate(tx, ctx, old_hash, token, at, origin)
    if issued is None:
        raise Unauthenticated()
    return issued


def _rotate(
    tx: Tx, ctx: Context, old_hash: str, token: str, at: datetime, origin: Origin
) -> IssuedSession | None:
    """Inside ``tx``: the rotated session, or ``None`` after recording why it was refused."""
    current = store.get_by_refresh_hash(tx, old_hash)
    if current is None:
        _reuse(tx, old_hash, at, origin)
        return None
    user = users.get(tx, current.user_id)
    reason = _refusal(current, user, at) or _other_channel(current, origin)
    if reason is not None:
        audit.record(
            tx, "session.refresh", "failure", at=at, origin=origin, user_id=current.user_id,
            details={"session_id": current.id, "reason": reason},
        )  # fmt: skip
        return None
    session = store.rotate_refresh(tx, old_hash=old_hash, new_hash=refresh_hash(ctx, token), at=at)
    if session is None:
        # Changed since we read it: another presenter of this token committed first (it
        # retired the hash, so this is reuse), or the session was just revoked.
        _reuse(tx, old_hash, at, origin)
        return None
    refresh_tokens.retire(
        tx, token_hash=old_hash, session_id=session.id, family_id=session.family_id, at=at
    )
    audit.record(
        tx, "session.refreshed", "success", at=at, origin=origin, user_id=session.user_id,
        details={"session_id": session.id, "family_id": session.family_id},
    )  # fmt: skip
    assert user is not None  # noqa: S101 - _refusal refuses a missing user
    return IssuedSession(session, token, user)


def _refusal(session: store.UserSession, user: users.User | None, at: datetime) -> str | None:
    if session.revoked_at is not None:
        return "revoked"
    if at >= session.expires_at:
        return "expired"
    if user is None or not user.is_active:
        return "user_inactive"
    return None


def _other_channel(session: store.UserSession, origin: Origin) -> str | None:
    """A browser's cookie session is not an API refresh token, nor the other way round."""
    return None if session.channel == origin.channel else "other_channel"


def _reuse(tx: Tx, old_hash: str, at: datetime, origin: Origin) -> None:
    """If ``old_hash`` was rotated away, revoke its family and audit the reuse."""
    retired = refresh_tokens.get(tx, old_hash)
    if retired is None:
        return  # never issued: nothing to revoke, nobody to attribute it to
    revoked = store.revoke_family(tx, retired.family_id, at)
    session = store.get(tx, retired.session_id)
    audit.record(
        tx, "session.refresh_reuse", "denied", at=at, origin=origin,
        user_id=session.user_id if session is not None else None,
        details={
            "session_id": retired.session_id,
            "family_id": retired.family_id,
            "retired_at": retired.retired_at.isoformat(),
            "revoked_sessions": revoked,
        },
    )  # fmt: skip


def active_session(ctx: Context, session_id: str) -> store.UserSession | None:
    """The session if it is live now and its user active; else ``None`` (introspection).

    Read fresh on every call, so a logout or a reuse revocation shows at once.
    """
    at = ctx.clock.now()
    with ctx.db.transaction(readonly=True) as tx:
        session = store.get_active(tx, session_id, at)
        user = users.get(tx, session.user_id) if session is not None else None
    if session is None or user is None or not user.is_active:
        return None
    return session


def session_for_refresh_token(
    ctx: Context, refresh_token: str, *, channel: str | None = None
) -> store.UserSession | None:
    """The live session whose *current* refresh token this is; ``None`` otherwise.

    For the browser's session cookie (``channel="page"``) and for introspecting a refresh
    token (RFC 7662): a rotated, revoked or expired token is inactive, and so is one of
    another ``channel`` when one is named. Read-only: unlike :func:`rotate`, asking about a
    retired token revokes nothing, because whoever asks is not the client presenting it.
    """
    if not refresh_token or len(refresh_token) > MAX_TOKEN_LENGTH:
        return None
    at = ctx.clock.now()
    token_hash = refresh_hash(ctx, refresh_token)
    with ctx.db.transaction(readonly=True) as tx:
        session = store.get_by_refresh_hash(tx, token_hash)
        user = users.get(tx, session.user_id) if session is not None else None
    if session is None or _refusal(session, user, at) is not None:
        return None
    if channel is not None and session.channel != channel:
        return None
    return session
