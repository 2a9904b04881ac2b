"""Lockout policies: brute force is bounded per account, counted atomically in the database.

The formula (DESIGN §4.3): every attempt is *reserved* (counted as a failure) before it is
checked, and checked only while the key has not run past ``threshold``; a success then
clears the key. After ``threshold`` consecutive failures the key locks for
``base * 2**n`` seconds (n = earlier locks that ended within the escalation window), at most
``MAX_DOUBLINGS`` doublings. While locked every attempt is refused with the same error, a
correct one included. Once a lock lapses the count starts again, so one guess per lapse
cannot keep the owner out; the owner has ways past a *password* lock that an anonymous
attacker has not: an emailed sign-in code followed by their second factor, or a reset link
(both clear the password counter). Passing the password step never clears the OTP key.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from twostep.config import Settings
from twostep.errors import TooManyAttempts
from twostep.store import Tx, throttles

LOCKED = "Too many wrong attempts: this account is locked for now."
"""The message of every refusal while a key is locked (a lock is never called expired)."""
MAX_DOUBLINGS = 3
"""A lock grows to at most ``base * 2**3`` (two hours with the default 15 minutes)."""
ESCALATION_SECONDS = 24 * 3600
"""Locks escalate only while the previous one ended less than a day ago."""


@dataclass(frozen=True, slots=True)
class LockoutPolicy:
    """``threshold`` failures, then a lock of ``base_seconds * 2**n`` (n = recent locks)."""

    threshold: int
    base_seconds: int

    @classmethod
    def for_otp(cls, settings: Settings) -> LockoutPolicy:
        return cls(settings.lockout_threshold, settings.lockout_minutes * 60)

    @classmethod
    def for_password(cls, settings: Settings) -> LockoutPolicy:
        return cls(settings.password_lockout_threshold, settings.password_lockout_minutes * 60)

    @property
    def max_seconds(self) -> int:
        return min(self.base_seconds << MAX_DOUBLINGS, throttles.DEFAULT_MAX_LOCK_SECONDS)


@dataclass(frozen=True, slots=True)
class Attempt:
    """One attempt, already counted as a failure; a success must :func:`succeed` the key."""

    state: throttles.ThrottleState
    policy: LockoutPolicy

    @property
    def allowed(self) -> bool:
        """Whether this attempt may be checked: the key had not run past its threshold."""
        return self.state.failures <= self.policy.threshold

    @property
    def is_last(self) -> bool:
        """This attempt locked the key: if its check fails, the account is now locked."""
        return self.state.failures == self.policy.threshold

    @property
    def attempts_left(self) -> int:
        """Checks still allowed before the key locks, once this attempt has failed."""
        return max(0, self.policy.threshold - self.state.failures)

    def refusal(self, at: datetime) -> TooManyAttempts:
        """The error for an attempt refused (or failed) while the key is locked."""
        return refusal(self.state, at)


def otp_key(user_id: str) -> str:
    """The per-account counter of second-factor failures."""
    return f"otp:user:{user_id}"


def password_key(email_hash: str) -> str:
    """The per-account password counter, keyed by the email's keyed hash (known or not)."""
    return f"login:email:{email_hash}"


def reserve(tx: Tx, key: str, at: datetime, policy: LockoutPolicy) -> Attempt:
    """Count one attempt on ``key`` before checking it; see :attr:`Attempt.allowed`.

    One atomic statement: on PostgreSQL it also holds the counter's row until ``tx`` ends,
    so concurrent attempts on one account are counted strictly one after the other.
    """
    state = throttles.register_failure(
        tx, key, at, policy.threshold, policy.base_seconds,
        max_lock_seconds=policy.max_seconds, escalation_seconds=ESCALATION_SECONDS,
    )  # fmt: skip
    return Attempt(state, policy)


def refusal(state: throttles.ThrottleState, at: datetime) -> TooManyAttempts:
    """The error for any attempt while ``state`` holds its key locked."""
    return TooManyAttempts(max(1, state.retry_after(at)), LOCKED, locked=True)


def locked_for(tx: Tx, key: str, at: datetime) -> int:
    """Seconds until ``key`` unlocks; 0 when it is not locked (read-only: for display)."""
    state = throttles.get(tx, key)
    return 0 if state is None else state.retry_after(at)


def succeed(tx: Tx, key: str) -> None:
    """A success ends the run of consecutive failures (and undoes its own reservation)."""
    throttles.reset(tx, key)
