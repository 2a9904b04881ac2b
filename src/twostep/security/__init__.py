"""Cryptography for twostep: the keyring for secrets at rest, keyed hashes, password hashes.

This layer never touches the database; it turns values into what the store keeps and back.
"""

from __future__ import annotations

from twostep.security.hashing import keyed_hash, keyed_hash_matches, new_token
from twostep.security.keyring import Keyring, Sealed
from twostep.security.passwords import PasswordHasher
from twostep.security.secret import SecretBytes

__all__ = [
    "Keyring",
    "PasswordHasher",
    "Sealed",
    "SecretBytes",
    "keyed_hash",
    "keyed_hash_matches",
    "new_token",
]
