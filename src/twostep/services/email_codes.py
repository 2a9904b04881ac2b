"""Email one-time codes: proof that someone controls an address, never a second factor.

DESIGN §4.10. A code is 6 digits, lives 10 minutes, is stored only as a keyed hash bound to
its address and purpose, takes at most 5 attempts (counted atomically) and works once. A
resend replaces the stored code, so the previous one stops working.

No enumeration (§4.6): :func:`request_code` answers a known and an unknown address with the
same value and the same errors. The resend cooldown is a throttle row keyed by the keyed
hash of the address, kept for every address asked about, so a cooldown never tells whether
an account exists (and no stranger's address is stored in plain). Wrong codes count on a
per-address throttle as well, known or not, so guessing is bounded across resends.

A sign-in code is only a first step: an account with a device still gets the login
challenge (:func:`sign_in`), exactly as after the password step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, TypeVar, get_args

from twostep.errors import InvalidCode, InvalidInput, TooManyAttempts
from twostep.mail import EventContext, Message
from twostep.security import keyed_hash, keyed_hash_matches, new_token
from twostep.services import audit, lockout, login
from twostep.services.context import Context, Origin
from twostep.services.identity import email_hash, normalize_email
from twostep.store import Refusal, Tx, throttles, users
from twostep.store import email_codes as store

Purpose = Literal["sign_in", "verify"]
PURPOSES: tuple[str, ...] = get_args(Purpose)
VERIFY_LINK = "verify_link"  # the row behind the link of a verification email
CHANGE_EMAIL = "change_email"  # a code sent to the new address of an email change
MAX_ATTEMPTS = 5

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class CodeRequested:
    """The answer to a code request, identical whether or not the address has an account."""

    expires_in: int
    resend_after: int


@dataclass(frozen=True, slots=True)
class EmailVerified:
    """The address of ``user_id`` is now confirmed."""

    user_id: str
    email: str


# --- building blocks, shared with the accounts service ------------------------------------


def _material(email: str, purpose: str, value: str) -> str:
    return f"email-code:{purpose}:{email}:{''.join(value.split())}"


def code_hash(ctx: Context, email: str, purpose: str, value: str) -> str:
    """The stored form of a code or link token: bound to its address and purpose."""
    return keyed_hash(ctx.keyring.pepper, _material(email, purpose, value))


def guess_key(ctx: Context, email: str) -> str:
    """The per-address counter of wrong email codes (exists for unknown addresses too)."""
    return f"email_code:{email_hash(ctx.keyring.pepper, email)}"


def send_key(ctx: Context, email: str, purpose: str) -> str:
    """The per-address, per-purpose resend cooldown."""
    return f"email_send:{purpose}:{email_hash(ctx.keyring.pepper, email)}"


def cooldown(tx: Tx, ctx: Context, email: str, purpose: str, at: datetime) -> int:
    """Start the resend cooldown for (email, purpose); seconds left if it was already running.

    A send is recorded as a one-failure lock of exactly ``email_code_cooldown_seconds``
    (capped, so it never escalates); the same statement runs for every address.
    """
    seconds = ctx.settings.email_code_cooldown_seconds
    if seconds == 0:
        return 0
    key = send_key(ctx, email, purpose)
    retry_after = lockout.locked_for(tx, key, at)
    if not retry_after:
        throttles.register_failure(tx, key, at, 1, seconds, max_lock_seconds=seconds)
    return retry_after


def issue(tx: Tx, ctx: Context, email: str, purpose: str, user_id: str, at: datetime) -> str:
    """Store a fresh code for (email, purpose), replacing the previous one; the code."""
    code = ctx.email_codes.issue(at.timestamp()).code
    store.issue(
        tx,
        email=email,
        purpose=purpose,
        code_hash=code_hash(ctx, email, purpose, code),
        at=at,
        expires_at=at + timedelta(seconds=ctx.email_codes.validity_seconds),
        user_id=user_id,
    )
    return code


def issue_verification(tx: Tx, ctx: Context, user: users.User, at: datetime) -> Message:
    """New verification code and link for ``user`` (both replace earlier ones); the mail.

    The link carries ``USER_ID.SECRET``: the id finds the row, the 256-bit secret is stored
    only as a keyed hash in its own row (purpose ``verify_link``).
    """
    code = issue(tx, ctx, user.email, "verify", user.id, at)
    secret = new_token()
    store.issue(
        tx,
        email=user.email,
        purpose=VERIFY_LINK,
        code_hash=code_hash(ctx, user.email, VERIFY_LINK, secret),
        at=at,
        expires_at=at + timedelta(seconds=ctx.email_codes.validity_seconds),
        user_id=user.id,
    )
    link = f"{ctx.settings.public_url.rstrip('/')}/verify-email?token={user.id}.{secret}"
    return ctx.messages.email_verification(
        user.email, code, link, expires_minutes=ctx.email_codes.validity_seconds // 60
    )


def use(tx: Tx, ctx: Context, row: store.EmailCode | None, value: str, at: datetime) -> bool:
    """Spend one attempt on ``row`` and consume it if ``value`` matches; True on success.

    The attempt is counted before the comparison, atomically, so parallel guesses against
    one code are all counted and at most :data:`MAX_ATTEMPTS` are ever compared.
    """
    if row is None or not row.is_active(at):
        return False
    attempts = store.register_attempt(tx, row.id)
    if attempts is None or attempts > MAX_ATTEMPTS:
        return False
    material = _material(row.email, row.purpose, value)
    if not keyed_hash_matches(ctx.keyring.pepper, material, row.code_hash):
        return False
    return store.consume(tx, row.id, at)


def check(
    tx: Tx,
    ctx: Context,
    email: str,
    purpose: str,
    value: str,
    at: datetime,
    origin: Origin,
    *,
    owner: str | None = None,
) -> store.EmailCode:
    """Verify a typed code for (email, purpose) under the per-address guess counter.

    Returns the consumed row; a refusal raises :class:`Refusal`, so ``tx`` commits its counter.
    Unknown address, no code, wrong, expired, used or exhausted: all the same failure. With
    ``owner``, a row issued to another user counts as no row (and is not touched).
    """
    key = guess_key(ctx, email)
    attempt = lockout.reserve(tx, key, at, lockout.LockoutPolicy.for_password(ctx.settings))
    row = store.get(tx, email, purpose)
    if row is not None and owner is not None and row.user_id != owner:
        row = None
    user_id = row.user_id if row is not None else None
    if not attempt.allowed:
        audit.record(
            tx, f"email.{purpose}", "denied", at=at, origin=origin, user_id=user_id,
            details={"reason": "locked"},
        )  # fmt: skip
        raise Refusal(attempt.refusal(at))
    if row is not None and use(tx, ctx, row, value, at):
        lockout.succeed(tx, key)
        return row
    audit.record(
        tx, f"email.{purpose}", "failure", at=at, origin=origin, user_id=user_id,
        details={"failures": attempt.state.failures},
    )  # fmt: skip
    raise Refusal(attempt.refusal(at) if attempt.is_last else InvalidCode())


def mark_verified(
    tx: Tx, user: users.User, at: datetime, origin: Origin, *, method: str
) -> EmailVerified:
    """Record that ``user`` proved control of their address; both verify rows die."""
    users.set_email_verified(tx, user.id, at)
    store.delete(tx, user.email, "verify")
    store.delete(tx, user.email, VERIFY_LINK)
    audit.record(
        tx, "email.verified", "success", at=at, origin=origin, user_id=user.id,
        details={"method": method},
    )  # fmt: skip
    return EmailVerified(user.id, user.email)


# --- the use cases --------------------------------------------------------------------------


def request_code(ctx: Context, email: str, purpose: Purpose, origin: Origin) -> CodeRequested:
    """Email a sign-in or verification code; the same answer for every address.

    Only an active account gets mail (for ``verify``, only while its address is unconfirmed);
    every other address takes the same path, cooldown included, and nothing is sent.
    """
    if purpose not in PURPOSES:
        raise InvalidInput("purpose", "Unknown code purpose.")
    normalized = normalize_email(email)
    at = ctx.clock.now()
    message: Message | None = None
    with ctx.db.transaction() as tx:
        user = users.get_by_email(tx, normalized)
        retry_after = cooldown(tx, ctx, normalized, purpose, at)
        if not retry_after:
            message = _prepare(tx, ctx, user, normalized, purpose, at, origin)
        outcome: audit.Outcome = "denied" if retry_after else "success" if message else "info"
        audit.record(
            tx, "email.code_requested", outcome, at=at, origin=origin,
            user_id=user.id if user is not None else None,
            details={"purpose": purpose, "sent": message is not None},
        )  # fmt: skip
    if retry_after:
        raise TooManyAttempts(retry_after)
    ctx.send(message)  # None for nobody: the same hand-off, so the same time to answer
    return CodeRequested(ctx.email_codes.validity_seconds, ctx.settings.email_code_cooldown_seconds)


def _prepare(
    tx: Tx,
    ctx: Context,
    user: users.User | None,
    email: str,
    purpose: str,
    at: datetime,
    origin: Origin,
) -> Message | None:
    """The mail to send, or None after the same work (a code and a rendered mail) for nobody."""
    event = EventContext(at=at, ip=origin.ip, user_agent=origin.user_agent)
    minutes = ctx.email_codes.validity_seconds // 60
    wanted = purpose == "sign_in" or (user is not None and user.email_verified_at is None)
    if user is None or not user.is_active or not wanted:
        code = ctx.email_codes.issue(at.timestamp()).code
        code_hash(ctx, email, purpose, code)
        ctx.messages.email_sign_in_code(email, code, expires_minutes=minutes, event=event)
        return None
    if purpose == "verify":
        return issue_verification(tx, ctx, user, at)
    code = issue(tx, ctx, email, purpose, user.id, at)
    return ctx.messages.email_sign_in_code(email, code, expires_minutes=minutes, event=event)


def verify_address(ctx: Context, email: str, code: str, origin: Origin) -> EmailVerified:
    """Confirm an address with the code from its verification email."""

    def finish(tx: Tx, user: users.User, at: datetime) -> EmailVerified:
        return mark_verified(tx, user, at, origin, method="code")

    return _verify(ctx, email, code, "verify", origin, finish)


def sign_in(ctx: Context, email: str, code: str, origin: Origin) -> login.LoginResult:
    """Passwordless first step: a session, or the 2FA challenge when the account has a device.

    Email is never a second factor: with a device, the code only stands in for the password
    step, and the user still has to answer the challenge with a TOTP or backup code.
    """

    def finish(tx: Tx, user: users.User, at: datetime) -> login.LoginResult:
        audit.record(tx, "login.email_code", "success", at=at, origin=origin, user_id=user.id)
        return login.after_first_factor(tx, ctx, user, origin, amr=["email"])

    return _verify(ctx, email, code, "sign_in", origin, finish)


def _verify(
    ctx: Context,
    email: str,
    code: str,
    purpose: str,
    origin: Origin,
    finish: Callable[[Tx, users.User, datetime], T],
) -> T:
    try:
        normalized = normalize_email(email)
    except InvalidInput:
        raise InvalidCode() from None
    at = ctx.clock.now()
    with ctx.db.transaction() as tx:
        row = check(tx, ctx, normalized, purpose, code, at, origin)
        user = users.get_by_email(tx, normalized)
        if user is None or user.id != row.user_id or not user.is_active:
            raise Refusal(InvalidCode())
        return finish(tx, user, at)
