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

from twostep.errors import EnrollmentRequired, TwostepError, Unauthenticated
from twostep.services import audit, factors, sessions
from twostep.services.context import Context, Origin
from twostep.store import devices
from twostep.store import sessions as session_store


@dataclass(frozen=True, slots=True)
class Elevation:
    """The session is elevated until ``elevated_until``, ``expires_in`` seconds from now."""

    elevated_until: datetime
    expires_in: int


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
            until = at + timedelta(minutes=minutes)
            if not session_store.set_elevated_until(tx, principal.session.id, until, at):
                # Revoked or expired meanwhile: roll back, so the factor is not spent.
                raise Unauthenticated()
            audit.record(
                tx, "session.elevated", "success", at=at, origin=origin, user_id=user.id,
                details={"session_id": principal.session.id, "method": outcome.method,
                         "minutes": minutes},
            )  # fmt: skip
            granted = Elevation(until, minutes * 60)
    notices.send_all(ctx)
    if error is not None:
        raise error
    assert granted is not None  # noqa: S101 - every other path raised or set error
    return granted
