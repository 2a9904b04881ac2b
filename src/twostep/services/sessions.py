"""Sign-in sessions: start, list, revoke, and resolve the session behind a request.

A session row is the server side of a sign-in. Its refresh token is random and stored only
as a keyed hash. ``purpose`` is ``"full"``, or ``"enroll"`` for a user who must set up a
second factor before doing anything else (``MFA=required``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from twostep.errors import (
    ElevationRequired,
    EnrollmentRequired,
    Forbidden,
    InvalidToken,
    MissingClaim,
    NotFound,
    Unauthenticated,
)
from twostep.security import keyed_hash, new_token
from twostep.security.tokens import proves_second_factor
from twostep.services import audit
from twostep.services.context import Context, Origin
from twostep.store import Tx, principals, users
from twostep.store import sessions as store

UserSession = store.UserSession
TOUCH_INTERVAL = timedelta(minutes=5)
"""How stale ``last_seen_at`` may get before a request refreshes it (shown in session lists)."""


@dataclass(frozen=True, slots=True)
class IssuedSession:
    """A new session, its refresh token (shown to the client once), and its user as read in
    the transaction that opened it: the access token is signed from these two, no re-read."""

    session: UserSession
    refresh_token: str = field(repr=False)
    user: users.User


User = users.User
"""An account as the services hand it to the web layer (which never imports the store)."""
Principal = principals.Principal
"""The user and live session behind a request, and whether the user has 2FA on."""


def refresh_hash(ctx: Context, token: str) -> str:
    return keyed_hash(ctx.keyring.pepper, f"refresh:{token}")


def start(
    tx: Tx,
    ctx: Context,
    user: users.User,
    *,
    amr: list[str],
    at: datetime,
    origin: Origin,
    purpose: str = "full",
) -> IssuedSession:
    """Open a session for ``user`` inside ``tx`` and audit it.

    ``amr`` names the methods this sign-in proved; when one is a second factor, the session
    records ``second_factor_at`` so tokens can say how fresh it is (DESIGN §4.12), and it is
    elevated from ``at`` for the elevation window: the code just typed counts as the step-up,
    so the first sensitive change does not ask for another one (§4.7).
    """
    second_factor = proves_second_factor(amr)
    elevated_until = at + timedelta(minutes=ctx.settings.elevation_minutes)
    token = new_token()
    session = store.create(
        tx,
        user_id=user.id,
        refresh_hash=refresh_hash(ctx, token),
        at=at,
        expires_at=at + timedelta(days=ctx.settings.session_days),
        amr=amr,
        purpose=purpose,
        ip=origin.ip,
        user_agent=origin.user_agent,
        second_factor_at=at if second_factor else None,
        elevated_until=elevated_until if second_factor else None,
        channel=origin.channel,
    )
    audit.record(
        tx, "session.created", "success", at=at, origin=origin, user_id=user.id,
        details={"session_id": session.id, "amr": amr, "purpose": purpose},
    )  # fmt: skip
    return IssuedSession(session, token, user)


@dataclass(frozen=True, slots=True)
class TokenHolder:
    """The session and user a verified access token names, not read yet.

    A hot path reads them with :func:`read_live` inside the transaction that acts, rather
    than in a transaction of their own (:func:`resolve`).
    """

    session_id: str
    user_id: str


def resolve(ctx: Context, session_id: str) -> Principal:
    """The live session ``session_id`` and its active user, or :class:`Unauthenticated`."""
    at = ctx.clock.now()
    with ctx.db.transaction(readonly=True) as tx:
        principal = _live(principals.get_live(tx, session_id, at))
    touch_if_stale(ctx, principal, at)
    return principal


def resolve_holder(ctx: Context, holder: TokenHolder) -> Principal:
    """:func:`resolve` for a verified token: its session, held by the token's subject."""
    return _held_by(resolve(ctx, holder.session_id), holder)


def read_live(tx: Tx, holder: TokenHolder, at: datetime) -> Principal:
    """:func:`resolve_holder` inside a write transaction ``tx``, activity stamp included."""
    principal = _held_by(_live(principals.get_live(tx, holder.session_id, at)), holder)
    if _stale(principal, at):
        store.touch(tx, principal.session.id, at)
    return principal


def _live(principal: Principal | None) -> Principal:
    if principal is None or not principal.user.is_active:
        raise Unauthenticated()
    return principal


def _held_by(principal: Principal, holder: TokenHolder) -> Principal:
    """A token naming someone else's session is forged or crossed: :class:`InvalidToken`."""
    if principal.user.id != holder.user_id:
        raise InvalidToken()
    return principal


def _stale(principal: Principal, at: datetime) -> bool:
    seen = principal.session.last_seen_at
    return seen is None or at - seen >= TOUCH_INTERVAL


def touch_if_stale(ctx: Context, principal: Principal, at: datetime) -> None:
    """Record activity, at most one write per session per :data:`TOUCH_INTERVAL`."""
    if _stale(principal, at):
        with ctx.db.transaction() as tx:
            store.touch(tx, principal.session.id, at)


def list_active(ctx: Context, user_id: str) -> list[UserSession]:
    """The user's live sessions, newest first."""
    with ctx.db.transaction(readonly=True) as tx:
        return store.list_active_for_user(tx, user_id, ctx.clock.now())


def revoke(ctx: Context, principal: Principal, session_id: str, origin: Origin) -> None:
    """End one of the caller's own sessions (logout when it is the current one)."""
    at = ctx.clock.now()
    user_id = principal.user.id
    with ctx.db.transaction() as tx:
        if not store.revoke(tx, session_id, at, user_id=user_id):
            raise NotFound("No such session.")
        audit.record(
            tx, "session.revoked", "success", at=at, origin=origin, user_id=user_id,
            details={"session_id": session_id},
        )  # fmt: skip


def revoke_others(ctx: Context, principal: Principal, origin: Origin) -> int:
    """End every session of the caller except the current one; how many ended."""
    at = ctx.clock.now()
    user_id = principal.user.id
    with ctx.db.transaction() as tx:
        count = revoke_all(tx, user_id, at, origin, keep=principal.session.id)
    return count


def revoke_all(
    tx: Tx, user_id: str, at: datetime, origin: Origin, *, keep: str | None = None
) -> int:
    """Inside ``tx``: end all of ``user_id``'s sessions (but ``keep``) and audit it."""
    count = store.revoke_all_for_user(tx, user_id, at, except_session_id=keep)
    audit.record(
        tx, "session.revoked_all", "success", at=at, origin=origin, user_id=user_id,
        details={"count": count, "kept_current": keep is not None},
    )  # fmt: skip
    return count


def require_full(principal: Principal) -> None:
    """Refuse a session limited to enrollment (``MFA=required``, no device yet)."""
    if principal.session.purpose != "full":
        raise EnrollmentRequired()


ADMIN_NEEDS_2FA = (
    "The admin console needs a session that proved a second factor: confirm with a code "
    "from your authenticator app."
)


def require_admin(principal: Principal) -> None:
    """An active administrator whose session proved a second factor (``amr``, DESIGN §4.12).

    :class:`Forbidden` for anyone else; :class:`MissingClaim` (``amr``) for an administrator
    signed in with a password alone, who must step up with a code (or enrol one first).
    """
    if principal.user.role != "admin" or not principal.user.is_active:
        raise Forbidden("This needs an administrator.")
    if not proves_second_factor(principal.session.amr):
        raise MissingClaim("amr", ADMIN_NEEDS_2FA)


def require_elevated(principal: Principal, at: datetime) -> None:
    """Refuse unless the session was elevated with a fresh factor and still is."""
    if not principal.is_elevated(at):
        raise ElevationRequired()
