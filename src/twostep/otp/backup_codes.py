"""Backup codes: 60 random bits each, printed as ``7KQ4-MX2P-9WDR``, typed back forgivingly.

The alphabet is Crockford's base32 (digits and letters without I, L, O, U). Lookalikes are
folded on input the way Crockford specifies, ``O`` to ``0`` and ``I``/``L`` to ``1``, and case
and separators are ignored, so whatever a person reads off the sheet normalises to the code we
printed. Twelve symbols of 5 bits give 60 bits, above the 50-bit floor for a code that is only
ever stored as a keyed hash: hash :func:`normalize_backup_code`'s output, never the raw input.
"""

from __future__ import annotations

import secrets
from typing import Final

from twostep.errors import InvalidParameter

ALPHABET: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
LENGTH: Final = 12
GROUP: Final = 4
BITS: Final = 60
MAX_COUNT: Final = 100
_MAX_INPUT: Final = 64
_ALPHABET_SET: Final = frozenset(ALPHABET)
_FOLD: Final = str.maketrans({"O": "0", "I": "1", "L": "1", " ": None, "-": None, "\t": None})


def format_backup_code(normalized: str) -> str:
    """Split a normalised code into dash-separated groups of four: ``7KQ4-MX2P-9WDR``."""
    if type(normalized) is not str or len(normalized) != LENGTH or set(normalized) - _ALPHABET_SET:
        raise InvalidParameter("not a normalised backup code")
    return "-".join(normalized[i : i + GROUP] for i in range(0, LENGTH, GROUP))


def _random_code() -> str:
    value = secrets.randbits(BITS)
    return "".join(ALPHABET[(value >> shift) & 0x1F] for shift in range(BITS - 5, -1, -5))


def generate_backup_codes(count: int = 10) -> list[str]:
    """``count`` distinct formatted backup codes, to be shown once and then only hashed."""
    if type(count) is not int or not 1 <= count <= MAX_COUNT:
        raise InvalidParameter(f"count must be an integer from 1 to {MAX_COUNT}, not {count!r}")
    codes: dict[str, None] = {}
    while len(codes) < count:
        codes[_random_code()] = None
    return [format_backup_code(code) for code in codes]


def normalize_backup_code(text: str) -> str | None:
    """The canonical 12-symbol form of what a person typed, or None if it cannot be a code.

    Upper-cases, drops spaces and dashes, folds O/I/L to 0/1. Never raises.
    """
    if type(text) is not str or len(text) > _MAX_INPUT or not text.isascii():
        return None
    code = text.upper().translate(_FOLD)
    if len(code) != LENGTH or set(code) - _ALPHABET_SET:
        return None
    return code
