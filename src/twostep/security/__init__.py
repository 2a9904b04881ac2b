"""Cryptography for twostep: the keyring, keyed hashes, password hashes and access tokens.

This layer never touches the database; it turns values into what the store keeps and back.
"""

from __future__ import annotations

from twostep.security.hashing import keyed_hash, keyed_hash_matches, new_token
from twostep.security.keyring import Keyring, Sealed
from twostep.security.passwords import PasswordHasher
from twostep.security.secret import SecretBytes
from twostep.security.tokens import (
    AccessClaims,
    IssuedToken,
    KeySource,
    StaticKeys,
    TokenSigner,
    TokenVerifier,
    VerificationKey,
)

__all__ = [
    "AccessClaims",
    "IssuedToken",
    "KeySource",
    "Keyring",
    "PasswordHasher",
    "Sealed",
    "SecretBytes",
    "StaticKeys",
    "TokenSigner",
    "TokenVerifier",
    "VerificationKey",
    "keyed_hash",
    "keyed_hash_matches",
    "new_token",
]
