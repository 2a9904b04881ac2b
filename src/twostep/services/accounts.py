"""Accounts: register, confirm the address, change the password or the address.

Invariants:

* No enumeration at registration (DESIGN §4.6): an address that already has an account gets
  the same :class:`RegistrationResult` after the same work (the password is hashed, the
  verification cooldown starts); the existing account is left untouched and nothing is
  mailed. A lost uniqueness race (``users.create`` returns ``None``) takes that same path.
* Password hashing never runs inside a write transaction: argon2 is slow by design.
* An address is bound to an account only for whoever holds its password (§4.13): a
  verification code or link is accepted from a signed-in session of the account or with
  the password, never alone (see :func:`_prove_holder`).
* Changing the password or the address needs an elevated session (§4.7). A password change
  also needs the current password (counted on the same per-address throttle as login), ends
  every other session and cancels pending reset links.
* An address change takes effect only once the code sent to the new address is confirmed;
  until then the old address stays in charge, so a typo cannot lock the owner out and a
  borrowed session cannot quietly redirect the account's mail. The old address is told.
"""

from __future__ import annotations

import hmac
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import NoReturn

from twostep.errors import InvalidCode, InvalidInput, TooManyAttempts
from twostep.mail import EventContext, Message
from twostep.services import (
    audit,
    email_codes,
    lockout,
    password_policy,
    remembered,
    sessions,
)
from twostep.services.context import Context, Origin
from twostep.services.email_codes import CHANGE_EMAIL, VERIFY_LINK, EmailVerified
from twostep.services.identity import email_hash, normalize_email
from twostep.store import Refusal, Tx, reset_tokens, users
from twostep.store import email_codes as code_store

DEAD_LINK = "This link is invalid or has expired."


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
    ctx.send(message)  # None for a taken address: the same hand-off, the same time to answer
    return RegistrationResult(normalized, ctx.email_codes.validity_seconds)


HOLDER_NEEDED = (
    "Enter the password you chose for this account to confirm the address is yours. "
    "Didn't create an account? Reset the password instead: that makes the address yours."
)


def verify_email(
    ctx: Context,
    email: str,
    code: str,
    origin: Origin,
    *,
    password: str | None = None,
    principal: sessions.Principal | None = None,
) -> EmailVerified:
    """Confirm an address with the 6-digit code from the verification email.

    The address is bound to the account only for whoever also holds its password (a
    signed-in ``principal`` of the account, or ``password``): see :func:`_prove_holder`.
    """
    _prove_holder(ctx, email, origin, password=password, principal=principal)
    return email_codes.verify_address(ctx, email, code, origin)


def verify_email_link(
    ctx: Context,
    token: str,
    origin: Origin,
    *,
    password: str | None = None,
    principal: sessions.Principal | None = None,
) -> EmailVerified:
    """Confirm an address with the link token (``USER_ID.SECRET``) from the same email.

    Like :func:`verify_email`, it needs the password holder; a dead link is refused first.
    """
    owner = _link_owner(ctx, token)
    if owner is None:
        _link_failure(ctx, None, origin)
    _prove_holder(ctx, owner.email, origin, password=password, principal=principal)
    at = ctx.clock.now()
    with ctx.db.transaction() as tx:
        user = users.get(tx, owner.id)
        live = user is not None and user.is_active
        row = code_store.get(tx, user.email, VERIFY_LINK) if user is not None and live else None
        if (
            user is None
            or row is None
            or row.user_id != user.id
            or not email_codes.use(tx, ctx, row, token.strip().partition(".")[2], at)
        ):  # the attempt ``use`` counted on the link stays counted
            audit.record(tx, "email.verify_link", "failure", at=at, origin=origin, user_id=owner.id)
            raise Refusal(InvalidCode(DEAD_LINK))
        return email_codes.mark_verified(tx, user, at, origin, method="link")


def verification_link_email(ctx: Context, token: str) -> str:
    """The address a live verification link is for (it is mailed there); else InvalidCode.

    Read-only: a page shows it while asking for the password, and nothing is spent.
    """
    owner = _link_owner(ctx, token)
    if owner is None:
        raise InvalidCode(DEAD_LINK)
    return owner.email


def _link_owner(ctx: Context, token: str) -> users.User | None:
    user_id, _, secret = token.strip().partition(".")
    at = ctx.clock.now()
    with ctx.db.transaction(readonly=True) as tx:
        owner = users.get(tx, user_id) if user_id and secret and len(user_id) <= 36 else None
        row = code_store.get(tx, owner.email, VERIFY_LINK) if owner is not None else None
    alive = row is not None and owner is not None and row.user_id == owner.id
    return owner if alive and row is not None and row.is_active(at) else None


def _link_failure(ctx: Context, user: users.User | None, origin: Origin) -> NoReturn:
    with ctx.db.transaction() as tx:
        audit.record(
            tx, "email.verify_link", "failure", at=ctx.clock.now(), origin=origin,
            user_id=user.id if user is not None else None,
        )  # fmt: skip
    raise InvalidCode(DEAD_LINK)


def _prove_holder(
    ctx: Context,
    email: str,
    origin: Origin,
    *,
    password: str | None,
    principal: sessions.Principal | None,
) -> None:
    """Refuse unless the caller holds the account's password (DESIGN §4.13).

    A verification code or link proves control of the mailbox, not that the person who set
    the password is its owner: someone may have registered another's address first. So an
    address is bound only for a signed-in session of that very account or with its password;
    the owner who never signed up takes the address over with a password reset instead,
    which discards whatever the squatter set up (:mod:`twostep.services.reset`). A wrong
    password counts on the address's password lockout, known account or not.
    """
    if principal is not None and principal.user.email == _normalized_or_blank(email):
        return
    if password is None:
        raise InvalidInput("password", HOLDER_NEEDED)
    _password_holder(ctx, email, password, origin, field="password")


def _normalized_or_blank(email: str) -> str:
    try:
        return normalize_email(email)
    except InvalidInput:
        return ""


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
    if _same_password(current_password, new_password):
        raise InvalidInput(
            "new_password", "That is your current password. Choose a new one you haven't used."
        )
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
        remembered.forget_all_in(tx, user.id, at, origin, reason="password_changed")
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

    A free and a taken address get the same answer after the same work (no enumeration,
    DESIGN §4.6): one message each, a code to a free address or a notice to the owner of a
    taken one, under the same per-address cooldown. ``password``, when given, must be the
    current password.
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
    at = ctx.clock.now()
    message: Message | None = None
    outcome: audit.Outcome
    with ctx.db.transaction() as tx:
        retry_after = email_codes.cooldown(tx, ctx, normalized, CHANGE_EMAIL, at)
        taken = users.get_by_email(tx, normalized) is not None
        if retry_after:
            outcome, reason = "denied", "cooldown"
        elif taken:
            outcome, reason = "denied", "email_in_use"
            message = ctx.messages.email_in_use(normalized, event=_event(at, origin))
        else:
            outcome, reason = "success", None
            code = email_codes.issue(tx, ctx, normalized, CHANGE_EMAIL, user.id, at)
            message = _change_code_message(ctx, normalized, code)
        audit.record(
            tx, "email.change_requested", outcome, at=at, origin=origin, user_id=user.id,
            details={"reason": reason} if reason else None,
        )  # fmt: skip
    if retry_after:
        raise TooManyAttempts(retry_after)
    ctx.send(message)
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
        email_codes.check(tx, ctx, normalized, CHANGE_EMAIL, code, at, origin, owner=user.id)
        if not users.set_email(tx, user.id, normalized, verified_at=at):
            audit.record(
                tx, "email.changed", "failure", at=at, origin=origin, user_id=user.id,
                details={"reason": "email_in_use"},
            )  # fmt: skip
            raise Refusal(InvalidInput("email", "This email address is already in use."))
        _forget_address(tx, user, at)
        audit.record(tx, "email.changed", "success", at=at, origin=origin, user_id=user.id)
    ctx.send(_email_changed_notice(ctx, user.email, normalized, at, origin))
    return EmailVerified(user.id, normalized)


# --- helpers ----------------------------------------------------------------------------------


def _same_password(current: str, new: str) -> bool:
    """Whether ``new`` is ``current`` in the form the hasher stores (NFKC)."""
    return hmac.compare_digest(
        unicodedata.normalize("NFKC", current).encode(), unicodedata.normalize("NFKC", new).encode()
    )


def _password_key(ctx: Context, email: str) -> str:
    return lockout.password_key(email_hash(ctx.keyring.pepper, email))


def _check_password(ctx: Context, user_id: str, password: str, origin: Origin) -> users.User:
    """The fresh account if ``password`` is its current one; counts a failure otherwise."""
    with ctx.db.transaction(readonly=True) as tx:
        user = users.get(tx, user_id)
    if user is None:
        raise InvalidInput("current_password", "Your current password is incorrect.")
    return _password_holder(ctx, user.email, password, origin, field="current_password")


def _password_holder(
    ctx: Context, email: str, password: str, origin: Origin, *, field: str
) -> users.User:
    """The account of ``email`` if ``password`` is its password, under the password lockout.

    Counted like a login (reserved before argon2, DESIGN §4.3) and answered alike for an
    unknown address, an inactive account and a wrong password.
    """
    mine = "Your current password" if field == "current_password" else "The password"
    wrong = InvalidInput(field, f"{mine} is incorrect.")
    try:
        normalized = normalize_email(email)
    except InvalidInput:
        ctx.passwords.dummy_verify(password)
        raise wrong from None
    at = ctx.clock.now()
    key = _password_key(ctx, normalized)
    with ctx.db.transaction() as tx:
        attempt = lockout.reserve(tx, key, at, lockout.LockoutPolicy.for_password(ctx.settings))
        user = users.get_by_email(tx, normalized)
    if not attempt.allowed:
        raise attempt.refusal(at)
    if user is None:
        ctx.passwords.dummy_verify(password)
        ok = False
    else:
        ok = user.is_active and ctx.passwords.verify(user.password_hash, password)
    with ctx.db.transaction() as tx:
        if ok and user is not None:
            lockout.succeed(tx, key)  # undo the reservation: a right password is no failure
            return user
        audit.record(
            tx, "password.confirm", "failure", at=at, origin=origin,
            user_id=user.id if user is not None else None,
        )  # fmt: skip
        raise Refusal(attempt.refusal(at) if attempt.is_last else wrong)


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
