"""Lockout policies: brute force is bounded per account, counted atomically in the database.

The formula: after ``threshold`` consecutive failures the key locks for
``base * 2**n`` seconds (n = locks before this one), capped at a day. While locked every
attempt is refused with the same error, a correct one included. Only a success (or an
operator's unlock) clears the failures; passing the password step never clears the OTP key.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from twostep.config import Settings
from twostep.errors import TooManyAttempts
from twostep.store import Tx, throttles


@dataclass(frozen=True, slots=True)
class LockoutPolicy:
    """``threshold`` failures, then a lock of ``base_seconds * 2**n`` (n = earlier locks)."""

    threshold: int
    base_seconds: int

    @classmethod
    def for_otp(cls, settings: Settings) -> LockoutPolicy:
        return cls(settings.lockout_threshold, settings.lockout_minutes * 60)

    @classmethod
    def for_password(cls, settings: Settings) -> LockoutPolicy:
        return cls(settings.password_lockout_threshold, settings.password_lockout_minutes * 60)


def otp_key(user_id: str) -> str:
    """The per-account counter of second-factor failures."""
    return f"otp:user:{user_id}"


def password_key(email_hash: str) -> str:
    """The per-account password counter, keyed by the email's keyed hash (known or not)."""
    return f"login:email:{email_hash}"


def ensure_unlocked(tx: Tx, key: str, at: datetime) -> None:
    """Raise :class:`TooManyAttempts` with ``retry_after`` while ``key`` is locked."""
    state = throttles.get(tx, key)
    if state is not None and state.is_locked(at):
        raise TooManyAttempts(state.retry_after(at))


def locked_for(tx: Tx, key: str, at: datetime) -> int:
    """Seconds until ``key`` unlocks; 0 when it is not locked."""
    state = throttles.get(tx, key)
    return 0 if state is None else state.retry_after(at)


def fail(tx: Tx, key: str, at: datetime, policy: LockoutPolicy) -> throttles.ThrottleState:
    """Count one failure atomically; the state after it (locked or not)."""
    return throttles.register_failure(tx, key, at, policy.threshold, policy.base_seconds)


def succeed(tx: Tx, key: str) -> None:
    """A success ends the run of consecutive failures."""
    throttles.reset(tx, key)
