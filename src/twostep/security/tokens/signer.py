"""Issuing access tokens: Ed25519 from the keyring by default, HS256 with a shared secret.

Invariants: the header always carries ``kid`` and ``typ: at+jwt``; ``exp`` is ``iat`` plus the
lifetime, both whole seconds from the caller's ``now`` (never the wall clock); every datetime
must be timezone-aware, because a naive one would silently be read as local time.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from jwt.algorithms import OKPAlgorithm

from twostep.errors import ConfigurationError, KeyringError
from twostep.security.keyring import Keyring
from twostep.security.secret import SecretBytes
from twostep.security.tokens import compact
from twostep.security.tokens.claims import (
    FULL_PURPOSE,
    REGISTERED_CLAIMS,
    IssuedToken,
    acr_for,
    proves_second_factor,
)
from twostep.security.tokens.keys import Algorithm, StaticKeys, hs256_kid, hs256_secret
from twostep.security.tokens.verifier import TOKEN_TYPE, TokenVerifier


def _timestamp(name: str, value: datetime) -> int:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime")
    return int(value.timestamp())


class TokenSigner:
    """Issues access tokens; build it with :meth:`ed25519` or :meth:`hs256`.

    >>> signer = TokenSigner.ed25519(Keyring.generate(signing=True), issuer="i", audience="a")
    >>> signer.jwks()["keys"][0]["kty"], signer.verifier().keys.algorithms
    ('OKP', ('EdDSA',))
    """

    def __init__(
        self,
        *,
        algorithm: Algorithm,
        private_key: Any,
        kid: str,
        keys: StaticKeys,
        issuer: str,
        audience: str,
        ttl_seconds: int,
    ) -> None:
        """Prefer the named constructors; this one trusts that ``keys`` match ``private_key``."""
        if not issuer or not audience:
            raise ConfigurationError("tokens need a non-empty issuer and audience")
        if not 0 < ttl_seconds <= 24 * 3600:
            raise ConfigurationError("an access token lives between 1 second and 1 day")
        self.algorithm, self.kid, self.keys = algorithm, kid, keys
        self.issuer, self.audience, self.ttl_seconds = issuer, audience, ttl_seconds
        self._private_key = private_key
        self._header = compact.json_segment({"alg": algorithm, "kid": kid, "typ": TOKEN_TYPE})

    def __repr__(self) -> str:
        return f"TokenSigner(algorithm={self.algorithm!r}, kid={self.kid!r}, iss={self.issuer!r})"

    @classmethod
    def ed25519(
        cls, keyring: Keyring, *, issuer: str, audience: str, ttl_seconds: int = 900
    ) -> TokenSigner:
        """Sign with the ring's primary signing key; publish every signing key of the ring."""
        kid, private = keyring.signing_key_id, keyring.signing_key()  # raises if there is none
        if kid is None:  # pragma: no cover - signing_key() has raised already
            raise KeyringError("keyring: the ring has no signing key")
        return cls(
            algorithm="EdDSA",
            private_key=private,
            kid=kid,
            keys=StaticKeys.from_keyring(keyring),
            issuer=issuer,
            audience=audience,
            ttl_seconds=ttl_seconds,
        )

    @classmethod
    def hs256(
        cls, secret: bytes | SecretBytes, *, issuer: str, audience: str, ttl_seconds: int = 900
    ) -> TokenSigner:
        """Sign with a shared secret. Whoever can verify can also mint: for small set-ups only."""
        raw = hs256_secret(secret)
        return cls(
            algorithm="HS256",
            private_key=raw,
            kid=hs256_kid(raw),
            keys=StaticKeys.hs256(raw),
            issuer=issuer,
            audience=audience,
            ttl_seconds=ttl_seconds,
        )

    def issue(
        self,
        *,
        subject: str,
        session_id: str,
        amr: Sequence[str],
        auth_time: datetime,
        now: datetime,
        elevated_until: datetime | None = None,
        role: str | None = None,
        second_factor_time: datetime | None = None,
        purpose: str = FULL_PURPOSE,
        extra: Mapping[str, Any] | None = None,
    ) -> IssuedToken:
        """Sign an access token valid for ``ttl_seconds`` from ``now``.

        ``acr`` is derived from ``amr`` (never passed in), and ``second_factor_time`` is only
        written when ``amr`` proves a second factor; it defaults to ``auth_time`` (the sign-in
        proved it). ``extra`` adds application claims; it may not override a registered one.
        """
        if isinstance(amr, str) or not amr or not all(isinstance(m, str) for m in amr):
            raise ValueError("amr must be a non-empty sequence of method names, e.g. ['pwd']")
        if not subject or not session_id:
            raise ValueError("subject and session_id must be non-empty")
        clash = sorted(REGISTERED_CLAIMS.intersection(extra or {}))
        if clash:
            raise ValueError(f"extra claims may not override {', '.join(clash)}")
        iat = _timestamp("now", now)
        jti = secrets.token_urlsafe(16)
        payload: dict[str, Any] = {
            **(extra or {}),
            "iss": self.issuer,
            "aud": self.audience,
            "sub": subject,
            "sid": session_id,
            "jti": jti,
            "iat": iat,
            "exp": iat + self.ttl_seconds,
            "amr": list(amr),
            "acr": acr_for(amr),
            "auth_time": _timestamp("auth_time", auth_time),
            "purpose": purpose,
        }
        if proves_second_factor(amr):
            payload["second_factor_time"] = _timestamp(
                "second_factor_time", second_factor_time or auth_time
            )
        if elevated_until is not None:
            payload["elevated_until"] = _timestamp("elevated_until", elevated_until)
        if role is not None:
            payload["role"] = role
        body = json.dumps(payload, separators=(",", ":")).encode()
        token = compact.sign(self.algorithm, self._private_key, self._header, body)
        return IssuedToken(token=token, expires_in=self.ttl_seconds, jti=jti)

    def jwks(self) -> dict[str, Any]:
        """The public keys as a JWKS document; empty for HS256, whose secret is never published."""
        keys = []
        for key in self.keys:
            if key.algorithm == "EdDSA" and isinstance(key.key, Ed25519PublicKey):
                jwk = OKPAlgorithm.to_jwk(key.key, as_dict=True)
                keys.append({**jwk, "kid": key.kid, "alg": "EdDSA", "use": "sig"})
        return {"keys": keys}

    def verifier(self, *, leeway_seconds: int = 0) -> TokenVerifier:
        """A verifier for the tokens this signer issues."""
        return TokenVerifier(
            self.keys, issuer=self.issuer, audience=self.audience, leeway_seconds=leeway_seconds
        )
