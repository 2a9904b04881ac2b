"""Access tokens: short-lived JWTs signed with Ed25519 (or HS256), and their verification.

A :class:`TokenSigner` issues them; a :class:`TokenVerifier` checks them against a key source:
:class:`StaticKeys` (a keyring, a JWKS document, a shared secret) or, in another app, a JWKS
client. The invariants live in :mod:`~twostep.security.tokens.verifier`.

>>> from datetime import UTC, datetime
>>> from twostep.security import Keyring
>>> signer = TokenSigner.ed25519(Keyring.generate(signing=True), issuer="i", audience="a")
>>> at = datetime(2024, 1, 1, tzinfo=UTC)
>>> issued = signer.issue(subject="u", session_id="s", amr=["pwd", "otp"], auth_time=at, now=at)
>>> verifier = TokenVerifier(StaticKeys.from_jwks(signer.jwks()), issuer="i", audience="a")
>>> verifier.verify(issued.token, now=at.timestamp()).has_second_factor()
True
"""

from __future__ import annotations

from twostep.security.tokens.claims import (
    FULL_PURPOSE,
    REQUIRED_CLAIMS,
    SECOND_FACTORS,
    AccessClaims,
    IssuedToken,
    acr_for,
    proves_second_factor,
)
from twostep.security.tokens.keys import (
    SUPPORTED_ALGORITHMS,
    Algorithm,
    KeySource,
    StaticKeys,
    VerificationKey,
)
from twostep.security.tokens.signer import TokenSigner
from twostep.security.tokens.verifier import TOKEN_TYPE, TokenVerifier

__all__ = [
    "FULL_PURPOSE",
    "REQUIRED_CLAIMS",
    "SECOND_FACTORS",
    "SUPPORTED_ALGORITHMS",
    "TOKEN_TYPE",
    "AccessClaims",
    "Algorithm",
    "IssuedToken",
    "KeySource",
    "StaticKeys",
    "TokenSigner",
    "TokenVerifier",
    "VerificationKey",
    "acr_for",
    "proves_second_factor",
]
