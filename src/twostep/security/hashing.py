"""Keyed hashes for values that are looked up but never read back, and random tokens.

Backup codes, email codes, reset tokens, refresh tokens and throttle keys are stored as
HMAC-SHA256 under the server pepper (:attr:`twostep.security.Keyring.pepper`), never in plain.
Without the pepper, a database dump cannot even be brute-forced offline, which matters for
short values such as backup codes. The hash is deterministic, so it fits an indexed column and
a lookup stays one indexed query.

The value is hashed exactly as given (UTF-8). Callers canonicalise first (strip separators,
fold case), because two spellings of one code must hash alike.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

MIN_PEPPER_BYTES = 32
MIN_TOKEN_BYTES = 16


def keyed_hash(pepper: bytes, value: str) -> str:
    """HMAC-SHA256 of ``value`` under ``pepper``, as 64 lowercase hex characters.

    Hex rather than base64 so that the column is safe under any collation, case-insensitive
    ones included.

    >>> len(keyed_hash(b"p" * 32, "ABCD-EFGH"))
    64
    """
    if len(pepper) < MIN_PEPPER_BYTES:
        raise ValueError(f"the pepper must be at least {MIN_PEPPER_BYTES} bytes")
    data = value.encode("utf-8", "surrogatepass")
    return hmac.new(pepper, data, hashlib.sha256).hexdigest()


def keyed_hash_matches(pepper: bytes, value: str, expected: str) -> bool:
    """Whether ``value`` hashes to ``expected``, compared in constant time."""
    actual = keyed_hash(pepper, value).encode("ascii")
    return hmac.compare_digest(actual, expected.encode("utf-8", "surrogatepass"))


def new_token(nbytes: int = 32) -> str:
    """A URL-safe random token of ``nbytes`` random bytes (at least 16, i.e. 128 bits)."""
    if nbytes < MIN_TOKEN_BYTES:
        raise ValueError(f"a token needs at least {MIN_TOKEN_BYTES} random bytes")
    return secrets.token_urlsafe(nbytes)
