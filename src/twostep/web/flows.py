"""The flows the JSON API and the pages share: rate limit, then metrics, then one service call.

An API handler and a page handler for the same flow differ only in how they read input and
render output; both call the function here. So a flow's request budget (its rate-limit scope
and the key it counts per account) and its verification metric are chosen once, and cannot
drift apart between ``/api/v1`` and the pages (DESIGN §4.3: these limits blunt floods; the
per-account lockout in the database is the real bound on guessing).

Budgets are counted per client address and per account key: the normalised address for
anonymous flows (:func:`~twostep.services.identity.account_key`), the user id once signed in,
and the first 64 characters of a link token or challenge id when that is all there is.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from twostep.errors import InvalidInput
from twostep.services import (
    accounts,
    email_codes,
    enrollment,
    login,
    passkeys,
    reset,
    sessions,
    step_up,
)
from twostep.services.context import Origin
from twostep.services.email_codes import EmailVerified, Purpose
from twostep.services.identity import account_key
from twostep.web.deps import WebState


def _limit(state: WebState, scope: str, origin: Origin, account: str) -> None:
    state.limits.hit(scope, ip=origin.ip or "", account=account)


def register(
    state: WebState, origin: Origin, email: str, password: str
) -> accounts.RegistrationResult:
    """Create an account (the same answer for a taken address)."""
    _limit(state, "register", origin, account_key(email))
    return accounts.register(state.ctx, email, password, origin)


def verify_email(
    state: WebState,
    origin: Origin,
    *,
    email: str | None,
    code: str | None,
    token: str | None,
    password: str | None,
    principal: sessions.Principal | None,
) -> EmailVerified:
    """Confirm an address with its emailed link ``token``, or ``email`` plus ``code``."""
    if token:
        _limit(state, "verify-email", origin, token[:64])
        return accounts.verify_email_link(
            state.ctx, token, origin, password=password, principal=principal
        )
    if email is None or code is None:
        raise InvalidInput("code", "Send the emailed code with the address, or the link token.")
    _limit(state, "verify-email", origin, account_key(email))
    return accounts.verify_email(
        state.ctx, email, code, origin, password=password, principal=principal
    )


def sign_in(
    state: WebState, origin: Origin, email: str, password: str, device_token: str | None = None
) -> login.LoginResult:
    """The password step: a session, or a 2FA challenge (none on a remembered browser)."""
    _limit(state, "login", origin, account_key(email))
    return login.login(state.ctx, email, password, origin, device_token=device_token)


def complete_sign_in(
    state: WebState,
    origin: Origin,
    challenge_id: str,
    *,
    code: str | None,
    backup_code: str | None,
    webauthn: Mapping[str, Any] | None = None,
) -> sessions.IssuedSession:
    """Answer a login challenge with a code, a backup code or a security key."""
    _limit(state, "login-verify", origin, challenge_id[:64])
    with state.count("login"):
        return login.complete(
            state.ctx, challenge_id, origin, code=code, backup_code=backup_code, webauthn=webauthn
        )


def limit_passkey_options(state: WebState, origin: Origin) -> None:
    """Passkey challenges are rows: their creation is counted per address like a sign-in."""
    _limit(state, "passkey-options", origin, "passkey")


def sign_in_with_passkey(
    state: WebState, origin: Origin, challenge_id: str, credential: Mapping[str, Any]
) -> sessions.IssuedSession:
    """A passkey in place of the password and the code."""
    _limit(state, "login-verify", origin, challenge_id[:64])
    with state.count("login"):
        return passkeys.sign_in(state.ctx, challenge_id, credential, origin)


def request_email_code(
    state: WebState, origin: Origin, email: str, purpose: Purpose
) -> email_codes.CodeRequested:
    """Mail a one-time code for ``purpose`` (the same answer for unknown addresses)."""
    _limit(state, "email-code", origin, account_key(email))
    return email_codes.request_code(state.ctx, email, purpose, origin)


def sign_in_with_email_code(
    state: WebState, origin: Origin, email: str, code: str
) -> login.LoginResult:
    """An emailed sign-in code in place of the password (2FA still follows)."""
    _limit(state, "email-code-verify", origin, account_key(email))
    return email_codes.sign_in(state.ctx, email, code, origin)


def verify_address_code(state: WebState, origin: Origin, email: str, code: str) -> EmailVerified:
    """An emailed verification code, sent with the ``verify`` purpose."""
    _limit(state, "email-code-verify", origin, account_key(email))
    return email_codes.verify_address(state.ctx, email, code, origin)


def step_up_session(
    state: WebState,
    origin: Origin,
    caller: sessions.Principal | sessions.TokenHolder,
    *,
    code: str | None = None,
    backup_code: str | None = None,
    password: str | None = None,
    webauthn: Mapping[str, Any] | None = None,
) -> step_up.Elevated:
    """Elevate the caller's session with one fresh factor."""
    user_id = caller.user.id if isinstance(caller, sessions.Principal) else caller.user_id
    _limit(state, "elevate", origin, user_id)
    if password is not None:
        return step_up.step_up(state.ctx, caller, origin, password=password)
    with state.count("elevate"):
        return step_up.step_up(
            state.ctx, caller, origin, code=code, backup_code=backup_code, webauthn=webauthn
        )


def forgot_password(state: WebState, origin: Origin, email: str) -> None:
    """Mail a reset link if the account exists."""
    _limit(state, "forgot", origin, account_key(email))
    reset.request_reset(state.ctx, email, origin)


def reset_password(
    state: WebState,
    origin: Origin,
    token: str,
    new_password: str,
    *,
    code: str | None,
    backup_code: str | None,
    webauthn: Mapping[str, Any] | None = None,
) -> sessions.IssuedSession | None:
    """Set a new password with the emailed link (and a factor when the account has 2FA)."""
    _limit(state, "reset", origin, token[:64])
    with state.count("reset"):
        return reset.complete_reset(
            state.ctx, token, new_password, origin, code=code, backup_code=backup_code,
            webauthn=webauthn,
        )  # fmt: skip


def change_email(
    state: WebState,
    origin: Origin,
    principal: sessions.Principal,
    new_email: str,
    *,
    password: str | None = None,
) -> accounts.EmailChangeStarted:
    """Start an address change: a code goes to the new address."""
    _limit(state, "email-change", origin, principal.user.id)
    return accounts.change_email(state.ctx, principal, new_email, origin, password=password)


def confirm_email_change(
    state: WebState, origin: Origin, principal: sessions.Principal, new_email: str, code: str
) -> EmailVerified:
    """Finish an address change with the code the new address received."""
    _limit(state, "email-change-confirm", origin, principal.user.id)
    return accounts.confirm_email_change(state.ctx, principal, new_email, code, origin)


def confirm_device(
    state: WebState, origin: Origin, principal: sessions.Principal, device_id: str, code: str
) -> enrollment.Confirmation:
    """Activate a pending authenticator with its first code."""
    with state.count("enroll"):
        return enrollment.confirm(state.ctx, principal, device_id, code, origin)
