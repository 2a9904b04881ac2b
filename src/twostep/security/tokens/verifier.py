"""Verifying access tokens: allowlisted algorithms, the key's own algorithm, strict claims.

Invariants:

- The algorithm is decided by the *key*, never by the token. The header's ``kid`` picks a key
  from the key source; the header's ``alg`` must be on the allowlist *and* be that key's one
  algorithm. So ``alg=none`` is refused, and so is the classic confusion attack (HS256 "signed"
  with an Ed25519 public key): an Ed25519 key only ever verifies EdDSA, and an HS256 key exists
  only when a shared secret was configured.
- The signature is checked before any claim is trusted; claims are then typed strictly.
- Time comes in as ``now``, so expiry is tested by moving a clock, never by sleeping.
- Every failure is :class:`~twostep.errors.InvalidToken` whose message names the failed check
  and never echoes the token.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from twostep.errors import ConfigurationError, InvalidToken
from twostep.security.tokens import compact
from twostep.security.tokens.claims import REQUIRED_CLAIMS, AccessClaims, claims_from_payload
from twostep.security.tokens.keys import SUPPORTED_ALGORITHMS, KeySource, VerificationKey

TOKEN_TYPE = "at+jwt"  # noqa: S105 - RFC 9068; keeps other JWTs from passing as access tokens
MAX_TOKEN_CHARS = 8192


class TokenVerifier:
    """Verifies access tokens against a key source, an allowlist of algorithms, iss and aud.

    >>> from twostep.security.tokens import TokenSigner
    >>> signer = TokenSigner.hs256(b"s" * 32, issuer="twostep", audience="api")
    >>> verifier = TokenVerifier(StaticKeys.hs256(b"s" * 32), issuer="twostep", audience="api")
    >>> from datetime import UTC, datetime
    >>> at = datetime(2024, 1, 1, tzinfo=UTC)
    >>> issued = signer.issue(subject="u1", session_id="s1", amr=["pwd"], auth_time=at, now=at)
    >>> verifier.verify(issued.token, now=at.timestamp() + 60).sub
    'u1'
    """

    def __init__(
        self,
        keys: KeySource,
        *,
        issuer: str,
        audience: str,
        algorithms: Sequence[str] | None = None,
        leeway_seconds: int = 0,
    ) -> None:
        """``algorithms`` defaults to what ``keys`` can verify (EdDSA, or HS256 for a secret)."""
        allowed = tuple(keys.algorithms if algorithms is None else algorithms)
        unknown = [a for a in allowed if a not in SUPPORTED_ALGORITHMS]
        if unknown or not allowed:
            raise ConfigurationError(
                f"token algorithms must be some of {', '.join(SUPPORTED_ALGORITHMS)}, "
                f"not {unknown or 'none at all'}"
            )
        if not issuer or not audience:
            raise ConfigurationError("token verification needs an issuer and an audience")
        if not 0 <= leeway_seconds <= 300:
            raise ConfigurationError("the clock leeway must be between 0 and 300 seconds")
        self.keys, self.issuer, self.audience = keys, issuer, audience
        self.algorithms: frozenset[str] = frozenset(allowed)
        self.leeway_seconds = leeway_seconds

    def __repr__(self) -> str:
        return (
            f"TokenVerifier(iss={self.issuer!r}, aud={self.audience!r}, "
            f"algorithms={sorted(self.algorithms)!r})"
        )

    def verify(self, token: str, *, now: float | None = None) -> AccessClaims:
        """The claims of a valid token. Raises :class:`InvalidToken` naming the failed check."""
        now = time.time() if now is None else now
        if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_CHARS:
            raise InvalidToken("the token is malformed")
        parsed = compact.parse(token)  # one split, one decode of each segment
        key = self._key_for(parsed.header)
        if not compact.signature_matches(key, parsed.signing_input, parsed.signature):
            raise InvalidToken("the token signature is invalid")
        payload = parsed.payload()
        for name in REQUIRED_CLAIMS:
            if name not in payload:
                raise InvalidToken(f"the token lacks the {name!r} claim")
        if payload["iss"] != self.issuer:
            raise InvalidToken("the token is from another issuer")
        if payload["aud"] != self.audience:  # one audience, a string (a list is refused)
            raise InvalidToken("the token is for another audience")
        claims = claims_from_payload(payload)
        leeway = self.leeway_seconds
        if now >= claims.exp + leeway:
            raise InvalidToken("the token has expired")
        if claims.iat > now + leeway:
            raise InvalidToken("the token was issued in the future")
        nbf = payload.get("nbf")
        if nbf is not None and (type(nbf) is not int or nbf > now + leeway):
            raise InvalidToken("the token is not valid yet (nbf)")
        return claims

    def _key_for(self, header: Mapping[str, Any]) -> VerificationKey:
        """The key the header asks for, once the header passes the allowlist and typ checks."""
        alg = header.get("alg")
        if not isinstance(alg, str):
            raise InvalidToken("the token header names no algorithm")
        if alg.lower() == "none":
            raise InvalidToken("unsigned tokens (alg 'none') are refused")
        if alg not in self.algorithms:
            raise InvalidToken(f"the algorithm {alg[:16]!r} is not allowed")
        typ = header.get("typ")
        if not isinstance(typ, str) or typ.lower() not in (TOKEN_TYPE, f"application/{TOKEN_TYPE}"):
            raise InvalidToken(f"the token is not an access token (typ must be {TOKEN_TYPE!r})")
        kid = header.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise InvalidToken("the token is malformed")
        key = self.keys.get_key(kid)
        if key is None:
            raise InvalidToken(
                f"unknown key id {kid[:64]!r}" if kid else "the token names no key id"
            )
        if key.algorithm != alg:
            raise InvalidToken(f"the algorithm {alg!r} does not match the key {kid!r} names")
        return key
