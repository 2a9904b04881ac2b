"""Shared TOTP secrets: generation from :mod:`secrets`, and tolerant, policy-checked decoding.

New secrets carry 160 bits by default (the HMAC-SHA1 output size, RFC 4226's recommendation)
and never fewer than 128. Decoding accepts what people paste (lowercase, spaces, missing
``=`` padding) but enforces the same floor: shorter secrets exist in the wild and may be
*imported* with ``allow_weak=True`` down to 80 bits, flagged ``weak`` so callers can nudge the
user to re-enroll. Below 80 bits a secret is refused whatever the caller asks.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass, field
from typing import Final

from twostep.errors import InvalidParameter, InvalidSecret

DEFAULT_BITS: Final = 160
MIN_BITS: Final = 128
MIN_WEAK_BITS: Final = 80
MAX_BITS: Final = 1024
MAX_SECRET_INPUT: Final = 1024

_BASE32_LENGTHS: Final = frozenset({0, 2, 4, 5, 7})
"""Lengths (mod 8) an unpadded base32 string can have; the others encode no whole byte."""

_ALPHABET: Final = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_DELETE_ALPHABET: Final = str.maketrans("", "", _ALPHABET)
_TO_DIGITS: Final = str.maketrans(_ALPHABET, "0123456789abcdefghijklmnopqrstuv")


@dataclass(frozen=True, slots=True)
class DecodedSecret:
    """The raw HMAC key of a secret, and whether it is below the 128-bit floor."""

    key: bytes = field(repr=False)
    weak: bool = False

    @property
    def bits(self) -> int:
        """The key length in bits."""
        return len(self.key) * 8


def check_secret_bits(bits: int) -> int:
    """Return ``bits`` if it is a multiple of 8 from 128 to 1024, else raise InvalidParameter."""
    if type(bits) is not int or bits % 8 or not MIN_BITS <= bits <= MAX_BITS:
        raise InvalidParameter(
            f"a secret must have a multiple of 8 bits from {MIN_BITS} to {MAX_BITS}, not {bits!r}"
        )
    return bits


def generate_secret(bits: int = DEFAULT_BITS) -> str:
    """A fresh random secret of ``bits`` bits as unpadded upper-case base32."""
    return encode_secret(secrets.token_bytes(check_secret_bits(bits) // 8))


def encode_secret(key: bytes) -> str:
    """The canonical text form of a raw key: upper-case base32 without padding."""
    return base64.b32encode(key).decode("ascii").rstrip("=")


def canonical_secret(secret: str) -> str:
    """``secret`` as upper-case base32 without spaces, dashes or padding (not checked)."""
    return secret.replace(" ", "").replace("-", "").replace("\t", "").upper().rstrip("=")


def decode_secret(secret: str, *, allow_weak: bool = False) -> DecodedSecret:
    """Decode a base32 secret, enforcing the length policy of the module docstring.

    Raises :class:`~twostep.errors.InvalidSecret` when the text is not base32 or the key is too
    short.
    """
    if type(secret) is not str or len(secret) > MAX_SECRET_INPUT:
        raise InvalidSecret("a secret must be a base32 string of at most 1024 characters")
    text = canonical_secret(secret)
    if not text:
        raise InvalidSecret("the secret is empty")
    if text.translate(_DELETE_ALPHABET) or len(text) % 8 not in _BASE32_LENGTHS:
        raise InvalidSecret("the secret is not valid base32")
    # Base32 is a base-32 numeral: read it with int() rather than base64.b32decode, which is
    # written in Python and would cost more than the three HMACs of a verification.
    nbytes = len(text) * 5 // 8
    value = int(text.translate(_TO_DIGITS), 32) >> (len(text) * 5 - nbytes * 8)
    key = value.to_bytes(nbytes, "big")
    bits = nbytes * 8
    if bits >= MIN_BITS:
        return DecodedSecret(key, weak=False)
    if allow_weak and bits >= MIN_WEAK_BITS:
        return DecodedSecret(key, weak=True)
    floor = MIN_WEAK_BITS if allow_weak else MIN_BITS
    raise InvalidSecret(f"the secret has {bits} bits; at least {floor} are required")
