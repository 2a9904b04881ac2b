"""Accounts: register, confirm the address, change the password or the address.

Invariants:

* No enumeration at registration (DESIGN §4.6): an address that already has an account gets
  the same :class:`RegistrationResult` after the same work (the password is hashed, the
  verification cooldown starts); the existing account is left untouched and nothing is
  mailed. A lost uniqueness race (``users.create`` returns ``None``) takes that same path.
* Password hashing never runs inside a write transaction: argon2 is slow by design.
* Changing the password or the address needs an elevated session (§4.7). A password change
  also needs the current password (counted on the same per-address throttle as login), ends
  every other session and cancels pending reset links.
* An address change takes effect only once the code sent to the new address is confirmed;
  until then the old address stays in charge, so a typo cannot lock the owner out and a
  borrowed session cannot quietly redirect the account's mail. The old address is told.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from twostep.errors import InvalidCode, InvalidInput, TooManyAttempts, TwostepError
from twostep.mail import EventContext, Message
from twostep.services import audit, email_codes, password_policy, sessions, throttle
from twostep.services.context import Context, Origin
from twostep.services.email_codes import CHANGE_EMAIL, VERIFY_LINK, EmailVerified
from twostep.services.identity import email_hash, normalize_email
from twostep.store import Tx, reset_tokens, users
from twostep.store import email_codes as code_store


@dataclass(frozen=True, slots=True)
class RegistrationResult:
    """What registration answers, whether the address was free or not."""

    email: str
    expires_in: int


@dataclass(frozen=True, slots=True)
class EmailChangeStarted:
    """A code went to ``email``; the change happens on :func:`confirm_email_change`."""

    email: str
    expires_in: int


def register(ctx: Context, email: str, password: str, origin: Origin) -> RegistrationResult:
    """Create an account with an unconfirmed address and mail it a code and a link."""
    normalized = normalize_email(email)
    password_policy.check(password, email=normalized)
    password_hash = ctx.passwords.hash(password)
    at = ctx.clock.now()
    message: Message | None = None
    with ctx.db.transaction() as tx:
        user = users.create(tx, email=normalized, password_hash=password_hash, at=at)
        email_codes.cooldown(tx, ctx, normalized, "verify", at)
        if user is None:
            existing = users.get_by_email(tx, normalized)
            audit.record(
                tx, "account.register", "denied", at=at, origin=origin,
                user_id=existing.id if existing is not None else None,
                details={"reason": "email_in_use"},
            )  # fmt: skip
        else:
            audit.record(tx, "account.register", "success", at=at, origin=origin, user_id=user.id)
            message = email_codes.issue_verification(tx, ctx, user, at)
    if message is not None:
        ctx.send(message)
    return RegistrationResult(normalized, ctx.email_codes.validity_seconds)


def verify_email(ctx: Context, email: str, code: str, origin: Origin) -> EmailVerified:
    """Confirm an address with the 6-digit code from the verification email."""
    return email_codes.verify_address(ctx, email, code, origin)


def verify_email_link(ctx: Context, token: str, origin: Origin) -> EmailVerified:
    """Confirm an address with the link token (``USER_ID.SECRET``) from the same email."""
    user_id, _, secret = token.strip().partition(".")
    at = ctx.clock.now()
    verified: EmailVerified | None = None
    with ctx.db.transaction() as tx:
        user = users.get(tx, user_id) if user_id and secret and len(user_id) <= 36 else None
        if user is not None and user.is_active:
            row = code_store.get(tx, user.email, VERIFY_LINK)
            if (
                row is not None
                and row.user_id == user.id
                and email_codes.use(tx, ctx, row, secret, at)
            ):
                verified = email_codes.mark_verified(tx, user, at, origin, method="link")
        if verified is None:
            audit.record(
                tx, "email.verify_link", "failure", at=at, origin=origin,
                user_id=user.id if user is not None else None,
            )  # fmt: skip
    if verified is None:
        raise InvalidCode("This link is invalid or has expired.")
    return verified


def change_password(
    ctx: Context,
    principal: sessions.Principal,
    current_password: str,
    new_password: str,
    origin: Origin,
) -> None:
    """Set a new password from an elevated session; every other session ends."""
    at = ctx.clock.now()
    sessions.require_full(principal)
    sessions.require_elevated(principal, at)
    user = _check_password(ctx, principal.user.id, current_password, origin)
    password_policy.check(new_password, email=user.email)
    new_hash = ctx.passwords.hash(new_password)
    at = ctx.clock.now()
    with ctx.db.transaction() as tx:
        current = users.get(tx, user.id)
        if current is None or current.password_hash != user.password_hash:
            raise InvalidInput("current_password", "Your password changed meanwhile; try again.")
        users.set_password_hash(tx, user.id, new_hash)
        reset_tokens.invalidate_all(tx, user.id, at)
        sessions.revoke_all(tx, user.id, at, origin, keep=principal.session.id)
        audit.record(tx, "password.changed", "success", at=at, origin=origin, user_id=user.id)
    ctx.send(ctx.messages.password_changed(user.email, event=_event(at, origin)))


def change_email(
    ctx: Context,
    principal: sessions.Principal,
    new_email: str,
    origin: Origin,
    *,
    password: str | None = None,
) -> EmailChangeStarted:
    """Send a code to ``new_email``; the address changes only when it is confirmed.

    An address in use is refused as such: the caller is signed in and elevated, and telling
    them is needed to be useful. ``password``, when given, must be the current password.
    """
    at = ctx.clock.now()
    sessions.require_full(principal)
    sessions.require_elevated(principal, at)
    normalized = normalize_email(new_email)
    if normalized == principal.user.email:
        raise InvalidInput("email", "This is already your email address.")
    user = principal.user
    if password is not None:
        user = _check_password(ctx, user.id, password, origin)
    error: TwostepError | None = None
    at = ctx.clock.now()
    with ctx.db.transaction() as tx:
        if users.get_by_email(tx, normalized) is not None:
            error = InvalidInput("email", "This email address is already in use.")
        else:
            retry_after = email_codes.cooldown(tx, ctx, normalized, CHANGE_EMAIL, at)
            error = TooManyAttempts(retry_after) if retry_after else None
        code = (
            email_codes.issue(tx, ctx, normalized, CHANGE_EMAIL, user.id, at) if not error else ""
        )
        audit.record(
            tx, "email.change_requested", "failure" if error else "success", at=at,
            origin=origin, user_id=user.id, details={"reason": error.code} if error else None,
        )  # fmt: skip
    if error is not None:
        raise error
    ctx.send(_change_code_message(ctx, normalized, code))
    return EmailChangeStarted(normalized, ctx.email_codes.validity_seconds)


def confirm_email_change(
    ctx: Context, principal: sessions.Principal, new_email: str, code: str, origin: Origin
) -> EmailVerified:
    """Switch to ``new_email`` with the code it received; it is confirmed by that code.

    The change was authorised (elevated) when it started; confirming proves the new address
    and needs the same user's live session, but not a second elevation.
    """
    sessions.require_full(principal)
    try:
        normalized = normalize_email(new_email)
    except InvalidInput:
        raise InvalidCode() from None
    user = principal.user
    at = ctx.clock.now()
    with ctx.db.transaction() as tx:
        outcome = email_codes.check(
            tx, ctx, normalized, CHANGE_EMAIL, code, at, origin, owner=user.id
        )
        error = outcome if isinstance(outcome, TwostepError) else None
        if error is None and not users.set_email(tx, user.id, normalized, verified_at=at):
            error = InvalidInput("email", "This email address is already in use.")
            audit.record(
                tx, "email.changed", "failure", at=at, origin=origin, user_id=user.id,
                details={"reason": "email_in_use"},
            )  # fmt: skip
        if error is None:
            _forget_address(tx, user, at)
            audit.record(tx, "email.changed", "success", at=at, origin=origin, user_id=user.id)
    if error is not None:
        raise error
    ctx.send(_email_changed_notice(ctx, user.email, normalized, at, origin))
    return EmailVerified(user.id, normalized)


# --- helpers ----------------------------------------------------------------------------------


def _password_key(ctx: Context, email: str) -> str:
    return throttle.password_key(email_hash(ctx.keyring.pepper, email))


def _check_password(ctx: Context, user_id: str, password: str, origin: Origin) -> users.User:
    """The fresh account if ``password`` is its current one; counts a failure otherwise."""
    at = ctx.clock.now()
    policy = throttle.LockoutPolicy.for_password(ctx.settings)
    with ctx.db.transaction() as tx:
        user = users.get(tx, user_id)
        if user is None:
            raise InvalidInput("current_password", "Your current password is incorrect.")
        key = _password_key(ctx, user.email)
        attempt = throttle.reserve(tx, key, at, policy)  # counted before the hash (§4.3)
    if not attempt.allowed:
        raise attempt.refusal(at)
    ok = ctx.passwords.verify(user.password_hash, password)
    with ctx.db.transaction() as tx:
        if ok:
            throttle.succeed(tx, key)  # undo the reservation: a right password is no failure
            return user
        audit.record(
            tx, "password.confirm", "failure", at=at, origin=origin, user_id=user.id,
        )  # fmt: skip
    if attempt.is_last:
        raise attempt.refusal(at)
    raise InvalidInput("current_password", "Your current password is incorrect.")


def _forget_address(tx: Tx, user: users.User, at: datetime) -> None:
    """Links and codes sent to the old address stop working once the address changes."""
    reset_tokens.invalidate_all(tx, user.id, at)
    for purpose in ("verify", VERIFY_LINK, "sign_in"):
        code_store.delete(tx, user.email, purpose)


def _event(at: datetime, origin: Origin) -> EventContext:
    return EventContext(at=at, ip=origin.ip, user_agent=origin.user_agent)


def _change_code_message(ctx: Context, to: str, code: str) -> Message:
    minutes = ctx.email_codes.validity_seconds // 60
    return ctx.messages.email_change_code(to, code, expires_minutes=minutes)


def _email_changed_notice(
    ctx: Context, to: str, new_email: str, at: datetime, origin: Origin
) -> Message:
    return ctx.messages.email_changed(to, new_email=new_email, event=_event(at, origin))
