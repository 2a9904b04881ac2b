"""Step-up: a fresh second factor marks the session elevated for a few minutes (DESIGN §4.7).

Sensitive changes (removing a device, disabling 2FA, regenerating backup codes, changing the
email or password, adding a second device, every admin action) check
:func:`twostep.services.sessions.require_elevated`. Elevating costs one factor, consumed
exactly like a login: a TOTP step is accepted once and a backup code is used up, so a code
that elevated one session cannot elevate another or sign in (§4.1, §4.2). Failures count
against the same per-account lockout as login, and are committed even though the call
raises (§4.3).

Example::

    granted = elevate(ctx, principal, origin, code="492039")
    granted.expires_in  # 900 with the default ELEVATION_MINUTES=15
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from twostep.errors import (
    EnrollmentRequired,
    InvalidCredentials,
    InvalidInput,
    TwostepError,
    Unauthenticated,
)
from twostep.security.tokens import proves_second_factor
from twostep.services import audit, factors, sessions, throttle
from twostep.services.context import Context, Origin
from twostep.services.identity import email_hash
from twostep.store import Tx, devices
from twostep.store import sessions as session_store


@dataclass(frozen=True, slots=True)
class Elevation:
    """The session is elevated until ``elevated_until``, ``expires_in`` seconds from now.

    ``session`` is the session as the step-up left it (``amr`` now names the step-up's
    method too), so the token signed from it says exactly what was proven (DESIGN §4.12).
    """

    elevated_until: datetime
    expires_in: int
    session: sessions.UserSession


def _step_up(
    tx: Tx, principal: sessions.Principal, method: str, at: datetime, minutes: int
) -> Elevation:
    """Record the step-up on the live session inside ``tx``; :class:`Unauthenticated` if gone."""
    amr = list(dict.fromkeys([*principal.session.amr, method]))
    until = at + timedelta(minutes=minutes)
    session = session_store.record_step_up(
        tx, principal.session.id, until=until, at=at, amr=amr,
        second_factor=proves_second_factor([method]),
    )  # fmt: skip
    if session is None:  # revoked or expired meanwhile: roll back, so the factor is not spent
        raise Unauthenticated()
    return Elevation(until, minutes * 60, session)


def elevate(
    ctx: Context,
    principal: sessions.Principal,
    origin: Origin,
    *,
    code: str | None = None,
    backup_code: str | None = None,
) -> Elevation:
    """Consume a TOTP or backup code of the caller and elevate their current session.

    Raises :class:`EnrollmentRequired` when the account has no active device (there is no
    factor to step up with), and the error of :func:`factors.check` (``InvalidCode``,
    ``TooManyAttempts``) after committing the failure counter.
    """
    sessions.require_full(principal)
    factors.require_one(code, backup_code)
    user = principal.user
    notices = factors.Notices()
    at = ctx.clock.now()
    error: TwostepError | None = None
    granted: Elevation | None = None
    with ctx.db.transaction() as tx:
        if devices.count_active(tx, user.id) == 0:
            raise EnrollmentRequired("Set up an authenticator app before confirming with a code.")
        outcome = factors.check(
            tx, ctx, user, code=code, backup_code=backup_code, at=at, origin=origin,
            purpose="elevate", notices=notices,
        )  # fmt: skip
        if isinstance(outcome, TwostepError):
            error = outcome
        else:
            minutes = ctx.settings.elevation_minutes
            granted = _step_up(tx, principal, outcome.method, at, minutes)
            audit.record(
                tx, "session.elevated", "success", at=at, origin=origin, user_id=user.id,
                details={"session_id": principal.session.id, "method": outcome.method,
                         "minutes": minutes},
            )  # fmt: skip
    notices.send_all(ctx)
    if error is not None:
        raise error
    assert granted is not None  # noqa: S101 - every other path raised or set error
    return granted


def elevate_with_password(
    ctx: Context, principal: sessions.Principal, password: str, origin: Origin
) -> Elevation:
    """Re-enter the password to elevate a session of an account *without* a second factor.

    Such an account has no code to give, yet still needs a fresh proof before changing its
    password or email. An account with an active device must step up with a code: a
    password is not a second factor. Wrong passwords count on the account's password
    counter, as at login.
    """
    sessions.require_full(principal)
    user = principal.user
    key = throttle.password_key(email_hash(ctx.keyring.pepper, user.email))
    at = ctx.clock.now()
    with ctx.db.transaction() as tx:
        if devices.count_active(tx, user.id) > 0:
            raise InvalidInput("code", "Confirm with a code from your authenticator app.")
        policy = throttle.LockoutPolicy.for_password(ctx.settings)
        attempt = throttle.reserve(tx, key, at, policy)  # counted before the hash (§4.3)
    if not attempt.allowed:
        raise attempt.refusal(at)
    ok = ctx.passwords.verify(user.password_hash, password)
    at = ctx.clock.now()
    minutes = ctx.settings.elevation_minutes
    granted: Elevation | None = None
    with ctx.db.transaction() as tx:
        if not ok:
            audit.record(
                tx, "session.elevated", "failure", at=at, origin=origin, user_id=user.id,
                details={"method": "pwd"},
            )  # fmt: skip
        else:
            granted = _step_up(tx, principal, "pwd", at, minutes)
            throttle.succeed(tx, key)
            audit.record(
                tx, "session.elevated", "success", at=at, origin=origin, user_id=user.id,
                details={"session_id": principal.session.id, "method": "pwd",
                         "minutes": minutes},
            )  # fmt: skip
    if granted is None:
        if attempt.is_last:
            raise attempt.refusal(at)
        raise InvalidCredentials("The password is incorrect.")
    return granted
