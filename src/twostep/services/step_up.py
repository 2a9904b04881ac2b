"""Step-up: a fresh factor marks the session elevated for a few minutes (DESIGN §4.7).

Sensitive changes (removing a device, disabling 2FA, regenerating backup codes, changing the
email or password, adding a second device, every admin action) check
:func:`twostep.services.sessions.require_elevated`. :func:`step_up` decides which factor the
account owes: with an active device, a code or a backup code, consumed exactly like at login
(a TOTP step is accepted once, a backup code is used up, so a code that elevated one session
cannot elevate another or sign in, §4.1, §4.2); without one, the password. Failures count
against the same per-account lockout as login and are committed although the call raises
(§4.3). A password never proves a second factor, so it never widens what a session proves.

Example::

    elevated = step_up(ctx, principal, origin, code="492039")
    elevated.expires_in  # 900 with the default ELEVATION_MINUTES=15
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from twostep.errors import EnrollmentRequired, InvalidCredentials, InvalidInput, Unauthenticated
from twostep.security.tokens import proves_second_factor
from twostep.services import assertions, audit, factors, lockout, sessions
from twostep.services.context import Context, Origin
from twostep.services.identity import email_hash
from twostep.store import Refusal, Tx, devices
from twostep.store import sessions as session_store


@dataclass(frozen=True, slots=True)
class Elevated:
    """The session is elevated until ``elevated_until``, ``expires_in`` seconds from now.

    ``session`` is the session as the step-up left it (``amr`` now names the step-up's
    method too), so the token signed from it says exactly what was proven (DESIGN §4.12).
    """

    elevated_until: datetime
    expires_in: int
    session: sessions.UserSession
    user: sessions.User


def step_up(
    ctx: Context,
    caller: sessions.Principal | sessions.TokenHolder,
    origin: Origin,
    *,
    code: str | None = None,
    backup_code: str | None = None,
    password: str | None = None,
    webauthn: Mapping[str, Any] | None = None,
) -> Elevated:
    """Elevate the caller's session with exactly one fresh factor.

    An account with an active device sends ``code`` or ``backup_code`` (a password is refused
    with :class:`InvalidInput` on ``code``: it is not a second factor); an account without
    one sends ``password``, or :class:`EnrollmentRequired` when it sends a code. Wrong
    factors raise ``InvalidCode`` / ``InvalidCredentials`` / ``TooManyAttempts`` after the
    failure is committed. ``webauthn`` is a security key's answer to the session's own
    challenge (:func:`twostep.services.assertions.elevate_options`).

    ``caller`` is a session already read, or the :class:`~sessions.TokenHolder` of a verified
    access token: its session is then read inside the step-up's own transaction, so a
    step-up with a code is one transaction from the first read to the audit row.
    """
    given = [value is not None for value in (code, backup_code, password, webauthn)]
    if sum(given) != 1:
        raise InvalidInput("code", "Send one of a code, a backup code or your password.")
    if password is not None:
        principal = caller
        if isinstance(principal, sessions.TokenHolder):
            principal = sessions.resolve_holder(ctx, principal)
        sessions.require_full(principal)
        return _with_password(ctx, principal, password, origin)
    at = ctx.clock.now()
    with ctx.db.transaction() as tx:  # a device removed since the principal was read: no match
        principal = caller
        if isinstance(principal, sessions.TokenHolder):
            principal = sessions.read_live(tx, principal, at)
        sessions.require_full(principal)
        if not principal.two_factor:
            raise EnrollmentRequired("Set up an authenticator app before confirming with a code.")
        if webauthn is not None:  # a key answers the challenge of POST /auth/elevate/options
            proof = assertions.check_step_up(tx, ctx, principal, webauthn, at, origin)
        else:
            proof = factors.check(
                tx, ctx, principal.user, code=code, backup_code=backup_code, at=at,
                origin=origin, purpose="elevate",
            )  # fmt: skip
        return _elevate(tx, ctx, principal, proof.method, at, origin)


def _with_password(
    ctx: Context, principal: sessions.Principal, password: str, origin: Origin
) -> Elevated:
    """Re-enter the password: for an account *without* a second factor only.

    Such an account has no code to give, yet still needs a fresh proof before changing its
    password or email. Wrong passwords count on the account's password counter, as at login,
    reserved in a short transaction before the hash (which runs outside any transaction).
    """
    user = principal.user
    key = lockout.password_key(email_hash(ctx.keyring.pepper, user.email))
    at = ctx.clock.now()
    with ctx.db.transaction() as tx:  # read now: a device confirmed meanwhile counts
        if devices.count_active(tx, user.id) > 0:
            raise InvalidInput("code", "Confirm with a code from your authenticator app.")
        attempt = lockout.reserve(tx, key, at, lockout.LockoutPolicy.for_password(ctx.settings))
    if not attempt.allowed:
        raise attempt.refusal(at)
    ok = ctx.passwords.verify(user.password_hash, password)
    at = ctx.clock.now()
    with ctx.db.transaction() as tx:
        if not ok:
            audit.record(
                tx, "session.elevated", "failure", at=at, origin=origin, user_id=user.id,
                details={"method": "pwd"},
            )  # fmt: skip
            wrong = InvalidCredentials("The password is incorrect.")
            raise Refusal(attempt.refusal(at) if attempt.is_last else wrong)
        lockout.succeed(tx, key)
        return _elevate(tx, ctx, principal, "pwd", at, origin)


def _elevate(
    tx: Tx, ctx: Context, principal: sessions.Principal, method: str, at: datetime, origin: Origin
) -> Elevated:
    """Record the step-up on the live session inside ``tx``, and audit it.

    A session revoked or expired meanwhile raises :class:`Unauthenticated`, rolling ``tx``
    back so the factor is not spent.
    """
    minutes = ctx.settings.elevation_minutes
    amr = list(dict.fromkeys([*principal.session.amr, method]))
    until = at + timedelta(minutes=minutes)
    session = session_store.record_step_up(
        tx, principal.session.id, until=until, at=at, amr=amr,
        second_factor=proves_second_factor([method]),
    )  # fmt: skip
    if session is None:
        raise Unauthenticated()
    audit.record(
        tx, "session.elevated", "success", at=at, origin=origin, user_id=principal.user.id,
        details={"session_id": principal.session.id, "method": method, "minutes": minutes},
    )  # fmt: skip
    return Elevated(until, minutes * 60, session, principal.user)
