"""Signing in: the password step, then (when the account has a device) the 2FA challenge.

The password step answers an unknown or inactive account exactly as a wrong password: same
error, a dummy hash for the same cost, the same per-address counter (keyed by the hash of
the address, so it exists for unknown addresses too). The attempt is counted in its own short
transaction *before* the hash, so a parallel burst gets at most ``PASSWORD_LOCKOUT_THRESHOLD``
hashes; the hash runs outside any transaction, so it never holds a database write lock.

Completing the challenge with a second factor also clears the password counter: the owner
who signs in with an emailed code and their second factor is not kept out by someone who
locked the password step (DESIGN §4.3).

A challenge lives ``challenge_seconds`` (5 minutes) and takes ``challenge_attempts`` (5)
tries; the per-account OTP counter of :mod:`twostep.services.factors` bounds guessing across
challenges, and completing the password step never resets it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from twostep.errors import (
    ChallengeExpired,
    InvalidCredentials,
    InvalidInput,
    TooManyAttempts,
    TwostepError,
)
from twostep.services import assertions, audit, factors, lockout, remembered, sessions
from twostep.services import webauthn as keys
from twostep.services.context import Context, Origin
from twostep.services.identity import email_hash, normalize_email
from twostep.store import Refusal, Tx, backup_codes, challenges, devices, users

METHOD_TOTP = "totp"
METHOD_BACKUP = "backup_code"


@dataclass(frozen=True, slots=True)
class ChallengeIssued:
    """The password was right and a second factor is needed."""

    challenge_id: str
    methods: tuple[str, ...]
    expires_in: int


LoginResult = sessions.IssuedSession | ChallengeIssued


def login(
    ctx: Context, email: str, password: str, origin: Origin, *, device_token: str | None = None
) -> LoginResult:
    """The password step: a session, or a challenge when the account has 2FA.

    ``device_token`` is a remembered browser's token (:mod:`twostep.services.remembered`).
    """
    try:
        normalized = normalize_email(email)
    except TwostepError:
        ctx.passwords.dummy_verify(password)
        raise InvalidCredentials() from None
    key = lockout.password_key(email_hash(ctx.keyring.pepper, normalized))
    policy = lockout.LockoutPolicy.for_password(ctx.settings)
    at = ctx.clock.now()
    with ctx.db.transaction() as tx:  # the attempt counts before argon2 runs (DESIGN §4.3)
        attempt = lockout.reserve(tx, key, at, policy)
        user = users.get_by_email(tx, normalized)
    if not attempt.allowed:  # no hash at all: a burst past the threshold costs nothing
        raise attempt.refusal(at)

    if user is None:
        ctx.passwords.dummy_verify(password)
        ok = False
    else:
        ok = ctx.passwords.verify(user.password_hash, password) and user.is_active
    new_hash = (
        ctx.passwords.hash(password)
        if ok and user is not None and ctx.passwords.needs_rehash(user.password_hash)
        else None
    )

    at = ctx.clock.now()
    with ctx.db.transaction() as tx:
        if not ok or user is None:  # the failure was counted by the reservation
            audit.record(
                tx, "login.password", "failure", at=at, origin=origin,
                user_id=user.id if user is not None else None,
            )  # fmt: skip
            result: LoginResult | None = None
        else:
            lockout.succeed(tx, key)
            if new_hash is not None:
                users.set_password_hash(tx, user.id, new_hash)
            audit.record(tx, "login.password", "success", at=at, origin=origin, user_id=user.id)
            result = after_first_factor(
                tx, ctx, user, origin, amr=["pwd"], device_token=device_token
            )
    if result is None:
        raise attempt.refusal(at) if attempt.is_last else InvalidCredentials()
    return result


def must_enroll(ctx: Context, user: users.User) -> bool:
    """Whether a sign-in without a device may only enrol one.

    So it is under ``MFA=required``, after an administrator reset the user's 2FA (until a new
    device is confirmed), and for every administrator: the console needs a second factor.
    """
    return ctx.settings.mfa == "required" or user.must_enroll or user.role == "admin"


def after_first_factor(
    tx: Tx,
    ctx: Context,
    user: users.User,
    origin: Origin,
    *,
    amr: list[str],
    device_token: str | None = None,
) -> LoginResult:
    """After a first factor (password, or an emailed sign-in code): a session or a challenge.

    ``amr`` names that first factor; it is carried into the session, or into the challenge
    and from there into the session the challenge completes with. A live remembered
    browser's ``device_token`` skips the challenge; the session's ``amr`` then says
    ``remembered``, which proves no second factor.
    """
    at = ctx.clock.now()
    if devices.count_active(tx, user.id) == 0:
        purpose = "enroll" if must_enroll(ctx, user) else "full"
        return sessions.start(tx, ctx, user, amr=amr, at=at, origin=origin, purpose=purpose)
    if device_token is not None and remembered.honour(tx, ctx, user.id, device_token, at):
        amr = [*amr, remembered.AMR]
        return sessions.start(tx, ctx, user, amr=amr, at=at, origin=origin)
    methods = keys.factor_methods(tx, user.id)  # totp and/or webauthn
    if backup_codes.status(tx, user.id).remaining:
        methods.append(METHOD_BACKUP)
    challenge = challenges.create(
        tx,
        user_id=user.id,
        purpose="login",
        methods=methods,
        amr=amr,
        at=at,
        expires_at=at + timedelta(seconds=ctx.settings.challenge_seconds),
        ip=origin.ip,
        user_agent=origin.user_agent,
    )
    audit.record(
        tx, "login.challenge", "info", at=at, origin=origin, user_id=user.id,
        details={"challenge_id": challenge.id},
    )  # fmt: skip
    return ChallengeIssued(challenge.id, tuple(methods), ctx.settings.challenge_seconds)


def complete(
    ctx: Context,
    challenge_id: str,
    origin: Origin,
    *,
    code: str | None = None,
    backup_code: str | None = None,
    webauthn: Mapping[str, Any] | None = None,
) -> sessions.IssuedSession:
    """Finish a login challenge with a TOTP code, a backup code or a key; a full session."""
    if webauthn is None:
        factors.require_one(code, backup_code)
    elif code is not None or backup_code is not None:
        raise InvalidInput("code", "Send one of a code, a backup code or a security key.")
    at = ctx.clock.now()
    with ctx.db.transaction() as tx:
        challenge = challenges.register_attempt(tx, challenge_id)  # counted with the read
        user = users.get(tx, challenge.user_id) if challenge is not None else None
        if (
            challenge is None
            or challenge.purpose != "login"
            or not challenge.is_open(at)
            or user is None
            or not user.is_active
        ):
            raise ChallengeExpired()  # rolls the count back: nothing was tried
        if challenge.attempts > ctx.settings.challenge_attempts:
            locked = lockout.locked_for(tx, lockout.otp_key(user.id), at)
            if locked:  # a lock is the truth to tell, not an expired sign-in (§4.3)
                raise Refusal(TooManyAttempts(locked, lockout.LOCKED, locked=True))
            raise Refusal(ChallengeExpired("Too many tries for this sign-in. Please start again."))
        if webauthn is not None:  # a security key answers the login's own challenge
            proof = assertions.check(
                tx, ctx, user, webauthn, at=at, origin=origin, purpose="login",
                expected_challenge=keys.challenge_bytes(ctx, "login", challenge.id),
            )  # fmt: skip
        else:
            proof = factors.check(
                tx, ctx, user, code=code, backup_code=backup_code, at=at, origin=origin,
                purpose="login",
            )  # fmt: skip
        if not challenges.complete(tx, challenge.id, at):
            raise ChallengeExpired()
        issued = sessions.start(
            tx, ctx, user, amr=[*challenge.amr, proof.method], at=at, origin=origin
        )
        # Both factors are proven: a password lock set by someone else ends here.
        lockout.succeed(tx, lockout.password_key(email_hash(ctx.keyring.pepper, user.email)))
        return issued


def challenge_lock(ctx: Context, challenge_id: str) -> int:
    """Seconds until the account behind a live login challenge may try a code again (0: now).

    For the code page, so a locked account sees when it unlocks instead of a form that can
    only fail. An unknown or finished challenge reads as unlocked (the page then expires).
    """
    at = ctx.clock.now()
    with ctx.db.transaction(readonly=True) as tx:
        challenge = challenges.get(tx, challenge_id)
        if challenge is None or challenge.purpose != "login":
            return 0
        return lockout.locked_for(tx, lockout.otp_key(challenge.user_id), at)
