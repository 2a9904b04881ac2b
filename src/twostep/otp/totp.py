"""TOTP (RFC 6238): HOTP over the number of ``period``-second steps since the Unix epoch.

Nothing here reads the clock: every function takes ``at`` (Unix seconds) from the caller.
:func:`verify_totp` returns the **matched time step** rather than a bool, because accepting a
code is only half the job: the caller must store that step and refuse any code whose step is
at or before it (``after_step``), which is what makes a code single-use. When a code matches
several steps of the window, the latest one is returned, so the same string cannot be accepted
again later in the same window.

Every step of the window is computed and compared with :func:`hmac.compare_digest`; there is no
early exit, so the time taken does not reveal which step (if any) matched.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Final

from twostep.errors import InvalidParameter
from twostep.otp.hotp import (
    ALGORITHMS,
    MODULI,
    Algorithm,
    check_algorithm,
    check_digits,
    hotp,
    pack_counter,
)

MIN_PERIOD: Final = 1
MAX_PERIOD: Final = 300
MAX_WINDOW: Final = 10
"""A wider window would accept codes from minutes away and weaken the second factor."""

MAX_TIME: Final = float(2**63)
MAX_CODE_INPUT: Final = 64
"""Longer input is refused unread, so a pasted novel costs nothing."""

_ALGORITHM_SET: Final = frozenset(ALGORITHMS)
_DROP: Final = {ord(" "): None, ord("-"): None, ord("\t"): None}


def check_period(period: int) -> int:
    """Return ``period`` if it is an integer from 1 to 300 seconds, else raise."""
    if type(period) is not int or not MIN_PERIOD <= period <= MAX_PERIOD:
        raise InvalidParameter(f"period must be an integer from 1 to 300 seconds, not {period!r}")
    return period


def check_window(window: int) -> int:
    """Return ``window`` if it is an integer from 0 to :data:`MAX_WINDOW`, else raise."""
    if type(window) is not int or not 0 <= window <= MAX_WINDOW:
        raise InvalidParameter(f"window must be an integer from 0 to {MAX_WINDOW}, not {window!r}")
    return window


@dataclass(frozen=True, slots=True)
class TOTPParams:
    """The three parameters an authenticator app must share with us; validated on creation."""

    algorithm: Algorithm = "sha1"
    digits: int = 6
    period: int = 30

    def __post_init__(self) -> None:
        check_algorithm(self.algorithm)
        check_digits(self.digits)
        check_period(self.period)


def time_step(at: float, period: int = 30) -> int:
    """The RFC 6238 time step ``T = floor(at / period)`` (with ``T0 = 0``)."""
    check_period(period)
    if not 0 <= at < MAX_TIME:
        raise InvalidParameter(f"time must be finite Unix seconds from 0, not {at!r}")
    return int(at // period)


def totp(
    key: bytes,
    at: float,
    *,
    digits: int = 6,
    algorithm: Algorithm = "sha1",
    period: int = 30,
) -> str:
    """The TOTP value of ``key`` at Unix time ``at``.

    >>> totp(b"12345678901234567890", 59, digits=8)
    '94287082'
    """
    return hotp(key, time_step(at, period), digits=digits, algorithm=algorithm)


def normalize_code(code: str, digits: int) -> str | None:
    """``code`` without spaces, tabs and dashes if it is exactly ``digits`` ASCII digits.

    Returns None (never raises) for anything else: wrong length, letters, non-ASCII digits such
    as ``"١٢٣"`` or fullwidth ``"１２３"`` (``str.isdigit`` alone would accept those), non-strings,
    and oversized input.
    """
    if type(code) is not str or len(code) > MAX_CODE_INPUT:
        return None
    if len(code) != digits:
        code = code.translate(_DROP)
        if len(code) != digits:
            return None
    if code.isascii() and code.isdigit():
        return code
    return None


def verify_totp(
    key: bytes,
    code: str,
    *,
    at: float,
    window: int = 1,
    after_step: int | None = None,
    digits: int = 6,
    algorithm: Algorithm = "sha1",
    period: int = 30,
) -> int | None:
    """The time step whose code equals ``code``, within ``window`` steps of ``at``, or None.

    Steps at or before ``after_step`` (the last step the caller accepted) are never returned,
    so a code cannot be replayed. Malformed codes return None; bad parameters raise
    :class:`~twostep.errors.InvalidParameter`.
    """
    modulus = MODULI.get(digits) if type(digits) is int else None
    if modulus is None or algorithm not in _ALGORITHM_SET:
        modulus = check_digits(digits)
        check_algorithm(algorithm)
    check_window(window)
    candidate = normalize_code(code, digits)
    step = time_step(at, period)
    if candidate is None:
        return None
    floor = -1 if after_step is None else after_step
    compare = hmac.compare_digest
    digest = hmac.digest
    matched = None
    for counter in range(max(step - window, 0), step + window + 1):
        mac = digest(key, pack_counter(counter), algorithm)
        offset = mac[-1] & 0x0F
        value = (int.from_bytes(mac[offset : offset + 4], "big") & 0x7FFFFFFF) % modulus
        if compare(f"{value:0{digits}d}", candidate) and counter > floor:
            matched = counter
    return matched
