"""Remember this browser: a sign-in on a remembered browser skips the code step.

After a sign-in that proved a second factor, the browser may be given a random token (kept
in its own cookie); only its keyed hash is stored, with the user, a summary of the user agent
and the expiry (``REMEMBER_DAYS``; 0 turns the feature off). On the next sign-in on that
browser the password completes the sign-in, and the session's ``amr`` says ``remembered``:
a second factor was proven *earlier*, not now, so it proves no second factor
(:func:`twostep.security.tokens.proves_second_factor`), never counts as a step-up, and apps
that require a fresh second factor (``require_2fa(max_age)``) still refuse it.

Every remembered browser of a user is forgotten on a password change or reset, an
administrator's 2FA reset, and when 2FA is turned off (:func:`forget_all_in`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from twostep.errors import Forbidden, NotFound
from twostep.mail.useragent import describe_agent
from twostep.security import keyed_hash, new_token
from twostep.security.tokens import proves_second_factor
from twostep.services import audit, sessions
from twostep.services.context import Context, Origin
from twostep.store import Tx
from twostep.store import remembered as store

AMR = "remembered"
MAX_TOKEN = 256


@dataclass(frozen=True, slots=True)
class Remembered:
    """A freshly remembered browser: ``token`` goes to the browser once."""

    token: str
    expires_at: datetime
    max_age: int


@dataclass(frozen=True, slots=True)
class BrowserInfo:
    """What the owner sees of a remembered browser."""

    id: str
    user_agent: str | None
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None


def enabled(ctx: Context) -> bool:
    return ctx.settings.remember_days > 0


def _hash(ctx: Context, token: str) -> str:
    return keyed_hash(ctx.keyring.pepper, f"remember:{token}")


def remember(ctx: Context, session: sessions.UserSession, origin: Origin) -> Remembered:
    """Remember the browser that just signed in with ``session`` (which proved a factor)."""
    if not enabled(ctx):
        raise Forbidden("Remembering browsers is turned off on this service.")
    if AMR in session.amr or not proves_second_factor(session.amr):
        raise Forbidden("Only a sign-in with a second factor can remember this browser.")
    at = ctx.clock.now()
    days = ctx.settings.remember_days
    token = new_token()
    with ctx.db.transaction() as tx:
        browser = store.create(
            tx, user_id=session.user_id, token_hash=_hash(ctx, token),
            user_agent=describe_agent(origin.user_agent), at=at,
            expires_at=at + timedelta(days=days),
        )  # fmt: skip
        audit.record(
            tx, "browser.remembered", "success", at=at, origin=origin, user_id=session.user_id,
            details={"browser_id": browser.id, "days": days},
        )  # fmt: skip
    return Remembered(token, browser.expires_at, days * 86400)


def honour(tx: Tx, ctx: Context, user_id: str, token: str, at: datetime) -> bool:
    """Whether ``token`` is a live remembered browser of ``user_id`` (inside the login tx)."""
    if not enabled(ctx) or not token or len(token) > MAX_TOKEN:
        return False
    return store.use(tx, user_id, _hash(ctx, token), at)


def list_browsers(ctx: Context, principal: sessions.Principal) -> list[BrowserInfo]:
    """The caller's remembered browsers, newest first."""
    at = ctx.clock.now()
    with ctx.db.transaction(readonly=True) as tx:
        found = store.list_for_user(tx, principal.user.id, at)
    return [
        BrowserInfo(b.id, b.user_agent, b.created_at, b.expires_at, b.last_used_at) for b in found
    ]


def forget(ctx: Context, principal: sessions.Principal, browser_id: str, origin: Origin) -> None:
    """Forget one of the caller's browsers: it is asked for a code again."""
    sessions.require_full(principal)
    at = ctx.clock.now()
    with ctx.db.transaction() as tx:
        if not store.delete(tx, browser_id, principal.user.id):
            raise NotFound("No such browser.")
        audit.record(
            tx, "browser.forgotten", "success", at=at, origin=origin, user_id=principal.user.id,
            details={"browser_id": browser_id},
        )  # fmt: skip


def forget_all(ctx: Context, principal: sessions.Principal, origin: Origin) -> int:
    """Forget every browser of the caller; how many."""
    sessions.require_full(principal)
    at = ctx.clock.now()
    with ctx.db.transaction() as tx:
        return forget_all_in(tx, principal.user.id, at, origin, reason="by_user")


def forget_all_in(tx: Tx, user_id: str, at: datetime, origin: Origin, *, reason: str) -> int:
    """Inside ``tx``: forget every remembered browser of ``user_id``, audited when any went.

    The hook of a password change or reset, an admin's 2FA reset and turning 2FA off.
    """
    gone = store.delete_all_for_user(tx, user_id)
    if gone:
        audit.record(
            tx, "browser.forgotten_all", "success", at=at, origin=origin, user_id=user_id,
            details={"reason": reason, "browsers": gone},
        )  # fmt: skip
    return gone
