"""Checking a second factor: a TOTP code from any active device, or a backup code.

Invariants held here, for every flow that asks for a factor (login, step-up, reset):

* a code is accepted once: the matched step is stored with a conditional ``UPDATE`` and
  only the caller whose update changed a row succeeds (DESIGN §4.1); a backup code is
  consumed the same way (§4.2);
* failures are counted per account in the database, and checks of one account run one after
  the other: the first read of a check (:func:`twostep.store.factor_state.read`) holds the
  account's device rows until the transaction ends, so each check sees the failures the
  previous one counted and a parallel burst gets at most ``LOCKOUT_THRESHOLD`` checks; while
  the account is locked every code is refused with the same :class:`TooManyAttempts`, a
  correct one included (§4.3).

A refused factor raises :class:`~twostep.store.Refusal`: the caller's transaction commits the
counted failure and its audit row, then the refusal's error (``InvalidCode``,
``TooManyAttempts``) reaches the caller. Emails about the outcome (a backup code used, the
account locked) go out only once that transaction has committed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Literal, NoReturn

from twostep.errors import InvalidCode, InvalidInput
from twostep.mail import EventContext, Message
from twostep.otp.backup_codes import normalize_backup_code
from twostep.otp.hotp import check_algorithm
from twostep.otp.providers import OTPProvider, TOTPProvider
from twostep.security import Sealed, keyed_hash
from twostep.services import audit, lockout
from twostep.services.context import Context, Origin
from twostep.store import Refusal, Tx, after_commit, backup_codes, devices, factor_state, users

Method = Literal["otp", "backup", "hwk", "swk"]
"""``hwk`` / ``swk``: a security key (:mod:`twostep.services.assertions`)."""


@dataclass(frozen=True, slots=True)
class Proof:
    """A factor that was just accepted (and consumed)."""

    method: Method
    device_id: str | None = None
    backup_remaining: int | None = None


def send_after_commit(tx: Tx, ctx: Context, message: Message) -> None:
    """Send ``message`` once ``tx`` commits: it reports a change that must have happened."""
    after_commit(tx, partial(ctx.send, message))


def device_owner(device_id: str) -> str:
    """The associated data binding a device secret to its row."""
    return f"totp_device:{device_id}"


def backup_code_hash(ctx: Context, normalized: str) -> str:
    """The keyed hash stored for a normalised backup code."""
    return keyed_hash(ctx.keyring.pepper, f"backup:{normalized}")


def decrypt_secret(ctx: Context, device: devices.Device) -> str:
    """The base32 secret of ``device``; fails loudly if the row was tampered with."""
    sealed = Sealed(device.key_id, device.secret_ciphertext)
    return ctx.keyring.decrypt(sealed, owner=device_owner(device.id)).decode("ascii")


def provider_for(ctx: Context, device: devices.Device) -> OTPProvider:
    """The configured provider, or plain TOTP with the parameters the device was enrolled with.

    A device keeps the algorithm, digits and period its app was given; changing the provider's
    parameters later must not lock out devices enrolled before.
    """
    params = ctx.provider.params
    if (device.algorithm.lower(), device.digits, device.period) == (
        params.algorithm,
        params.digits,
        params.period,
    ):
        return ctx.provider
    algorithm = check_algorithm(device.algorithm.lower())
    return TOTPProvider(ctx.settings.totp_window, algorithm, device.digits, device.period)


def require_one(code: str | None, backup_code: str | None) -> None:
    """Exactly one of a code and a backup code must be given."""
    if (code is None) == (backup_code is None):
        raise InvalidInput("code", "Send either a code or a backup code.")


def check(
    tx: Tx,
    ctx: Context,
    user: users.User,
    *,
    code: str | None,
    backup_code: str | None,
    at: datetime,
    origin: Origin,
    purpose: str,
) -> Proof:
    """Accept and consume one factor of ``user``; else count the failure and raise a Refusal.

    Three statements when the factor is right: the devices with the lockout (one read, which
    serialises concurrent checks of the account), the conditional step update, the audit
    row; the lockout row is deleted only when failures were counted.
    """
    require_one(code, backup_code)
    key = lockout.otp_key(user.id)
    policy = lockout.LockoutPolicy.for_otp(ctx.settings)
    state = factor_state.read(tx, user.id, key)
    if state.failures(at) >= policy.threshold:  # locked, or at a lowered threshold
        is_locked = state.lockout is not None and state.lockout.is_locked(at)
        attempt = None if is_locked else lockout.reserve(tx, key, at, policy)
        audit.record(
            tx, f"{purpose}.factor", "denied", at=at, origin=origin, user_id=user.id,
            details={"reason": "locked"},
        )  # fmt: skip
        assert state.lockout is not None  # noqa: S101 - failures come from a counted row
        raise Refusal(attempt.refusal(at) if attempt else lockout.refusal(state.lockout, at))

    found: Proof | str = "wrong"
    if code is not None:
        found = _try_code(tx, ctx, state.devices, code, at)
    if backup_code is not None:
        found = _try_backup(tx, ctx, user.id, backup_code, at) or "wrong"
    if isinstance(found, Proof):
        proof = found
        if state.lockout is not None:
            lockout.succeed(tx, key)
        audit.record(
            tx, f"{purpose}.factor", "success", at=at, origin=origin, user_id=user.id,
            details={"method": proof.method, "device_id": proof.device_id},
        )  # fmt: skip
        if proof.method == "backup":
            event = EventContext(at=at, ip=origin.ip, user_agent=origin.user_agent)
            remaining = proof.backup_remaining or 0
            message = ctx.messages.backup_code_used(user.email, remaining=remaining, event=event)
            send_after_commit(tx, ctx, message)
        return proof

    attempt = lockout.reserve(tx, key, at, policy)  # count the failure (§4.3)
    state_after = attempt.state
    method = "otp" if code is not None else "backup"
    audit.record(
        tx, f"{purpose}.factor", "failure", at=at, origin=origin, user_id=user.id,
        details={"method": method, "failures": state_after.failures, "reason": found},
    )  # fmt: skip
    if not attempt.is_last:
        raise Refusal(refused_code(method, found, attempts_left=attempt.attempts_left))
    locked(tx, ctx, user, attempt, at, origin)


def locked(
    tx: Tx, ctx: Context, user: users.User, attempt: lockout.Attempt, at: datetime, origin: Origin
) -> NoReturn:
    """The failure that locked the account: audit it, tell the owner once ``tx`` commits, and
    refuse (every factor check ends here when its failure reached the threshold)."""
    until = attempt.state.locked_until
    audit.record(
        tx, "account.locked", "info", at=at, origin=origin, user_id=user.id,
        details={"until": until.isoformat() if until else None},
    )  # fmt: skip
    if until is not None:
        event = EventContext(at=at, ip=origin.ip, user_agent=origin.user_agent)
        send_after_commit(
            tx, ctx, ctx.messages.account_locked(user.email, until=until, event=event)
        )
    raise Refusal(attempt.refusal(at))


MESSAGES: dict[tuple[str, str], str] = {
    ("otp", "wrong"): "That authenticator code is not right. Check the app and try again.",
    ("otp", "already_used"): "That code was just used. Wait for the next one in your app.",
    ("backup", "wrong"): "That backup code is not right, or it was used already.",
}


def refused_code(method: str, reason: str, *, attempts_left: int | None = None) -> InvalidCode:
    """The error for a refused factor: it names the factor and why (``wrong``, ``already_used``)."""
    message = MESSAGES.get((method, reason), MESSAGES[(method, "wrong")])
    return InvalidCode(message, reason=reason, attempts_left=attempts_left)


def _try_code(
    tx: Tx, ctx: Context, active: list[devices.Device], code: str, at: datetime
) -> Proof | str:
    """The proof for ``code``, or why it was refused: ``"already_used"`` or ``"wrong"``.

    A code whose step is at or before a device's last accepted step (or that lost the race
    for it) is a replay: the owner typed a code that just worked, so they are told to wait
    for the next one rather than that the code is wrong.
    """
    reason = "wrong"
    for device in active:
        provider, secret = provider_for(ctx, device), decrypt_secret(ctx, device)
        step = provider.verify(secret, code, at=at.timestamp(), after_step=device.last_used_step)
        if step is not None and devices.advance_step(tx, device.id, step, at):
            return Proof("otp", device_id=device.id)
        if step is not None or (
            device.last_used_step is not None
            and provider.verify(secret, code, at=at.timestamp()) is not None
        ):
            reason = "already_used"
    return reason


def _try_backup(tx: Tx, ctx: Context, user_id: str, backup_code: str, at: datetime) -> Proof | None:
    normalized = normalize_backup_code(backup_code)
    if normalized is None:
        return None
    if not backup_codes.consume(tx, user_id, backup_code_hash(ctx, normalized), at):
        return None
    return Proof("backup", backup_remaining=backup_codes.status(tx, user_id).remaining)
