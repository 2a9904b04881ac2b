"""HOTP (RFC 4226): one HMAC, dynamic truncation, a zero-padded decimal string.

Codes are strings, never ints, so leading zeros survive. The module holds the parameter checks
shared by TOTP, so every entry point refuses the same out-of-range values with
:class:`~twostep.errors.InvalidParameter`. Nothing here reads the clock or does I/O.
"""

from __future__ import annotations

import hmac
import struct
from typing import Final, Literal

from twostep.errors import InvalidParameter

Algorithm = Literal["sha1", "sha256", "sha512"]

ALGORITHMS: Final[tuple[Algorithm, ...]] = ("sha1", "sha256", "sha512")
DIGITS: Final[tuple[int, ...]] = (6, 7, 8)
MAX_COUNTER: Final = 2**64 - 1

#: ``10**digits`` for every allowed length; a dict lookup doubles as the range check.
MODULI: Final[dict[int, int]] = {6: 10**6, 7: 10**7, 8: 10**8}

pack_counter = struct.Struct(">Q").pack
"""The 8-byte big-endian counter (the HMAC message) of RFC 4226 section 5.2."""


def check_digits(digits: int) -> int:
    """Return ``10**digits``, or raise :class:`InvalidParameter` unless digits is 6, 7 or 8."""
    modulus = MODULI.get(digits) if type(digits) is int else None
    if modulus is None:
        raise InvalidParameter(f"digits must be 6, 7 or 8, not {digits!r}")
    return modulus


def check_algorithm(algorithm: str) -> Algorithm:
    """Return ``algorithm`` if it is one of :data:`ALGORITHMS`, else raise InvalidParameter."""
    for known in ALGORITHMS:
        if algorithm == known:
            return known
    raise InvalidParameter(f"algorithm must be one of sha1, sha256, sha512, not {algorithm!r}")


def check_counter(counter: int) -> int:
    """Return ``counter`` if it fits the unsigned 64-bit HOTP counter, else raise."""
    if type(counter) is not int or not 0 <= counter <= MAX_COUNTER:
        raise InvalidParameter(f"counter must be an integer from 0 to 2**64-1, not {counter!r}")
    return counter


def truncate(mac: bytes, modulus: int, digits: int) -> str:
    """Dynamic truncation (RFC 4226 section 5.3) of an HMAC into a ``digits``-long string."""
    offset = mac[-1] & 0x0F
    value = (int.from_bytes(mac[offset : offset + 4], "big") & 0x7FFFFFFF) % modulus
    return f"{value:0{digits}d}"


def hotp(key: bytes, counter: int, *, digits: int = 6, algorithm: Algorithm = "sha1") -> str:
    """The HOTP value of ``key`` at ``counter`` as a ``digits``-long decimal string.

    >>> hotp(b"12345678901234567890", 0)
    '755224'
    """
    modulus = check_digits(digits)
    check_algorithm(algorithm)
    check_counter(counter)
    return truncate(hmac.digest(key, pack_counter(counter), algorithm), modulus, digits)
