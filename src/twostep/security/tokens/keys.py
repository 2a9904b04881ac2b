"""Verification keys and where a verifier finds them: a keyring, a JWKS document, a secret.

Invariant: a :class:`VerificationKey` carries exactly one algorithm, fixed when the key is
loaded (an Ed25519 key verifies EdDSA, a shared secret HS256), so the token's header can never
choose how its own signature is checked.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from jwt.algorithms import OKPAlgorithm

from twostep.errors import ConfigurationError, KeyringError
from twostep.security.keyring import Keyring
from twostep.security.secret import SecretBytes

Algorithm = Literal["EdDSA", "HS256"]
SUPPORTED_ALGORITHMS: tuple[Algorithm, ...] = ("EdDSA", "HS256")
MIN_HS256_SECRET_BYTES = 32


@dataclass(frozen=True, slots=True)
class VerificationKey:
    """A key that verifies exactly one algorithm; ``kid`` ``None`` matches a token without one."""

    kid: str | None
    algorithm: Algorithm
    key: Ed25519PublicKey | bytes = field(repr=False)


class KeySource(Protocol):
    """Where a :class:`TokenVerifier` finds keys: :class:`StaticKeys`, or a JWKS client.

    ``get_key`` answers ``None`` for a kid it does not know. ``may_block`` says whether it can
    do network I/O, so async callers know to run verification in a worker thread.
    """

    @property
    def algorithms(self) -> tuple[Algorithm, ...]: ...

    @property
    def may_block(self) -> bool: ...

    def get_key(self, kid: str | None) -> VerificationKey | None: ...


def hs256_kid(secret: bytes) -> str:
    """A fingerprint naming the shared secret, so a mismatch reads as an unknown key."""
    return "hs256-" + hashlib.sha256(b"twostep.hs256.kid\x00" + secret).hexdigest()[:12]


def hs256_secret(secret: bytes | SecretBytes) -> bytes:
    raw = secret.reveal() if isinstance(secret, SecretBytes) else secret
    if not isinstance(raw, bytes) or len(raw) < MIN_HS256_SECRET_BYTES:
        raise ConfigurationError(f"an HS256 secret must be at least {MIN_HS256_SECRET_BYTES} bytes")
    return raw


class StaticKeys:
    """A fixed set of verification keys: from a keyring, a JWKS document, or a shared secret."""

    may_block = False

    def __init__(self, keys: Iterable[VerificationKey]) -> None:
        self._keys = {key.kid: key for key in keys}
        algorithms = tuple(a for a in SUPPORTED_ALGORITHMS if any(k.algorithm == a for k in self))
        self.algorithms: tuple[Algorithm, ...] = algorithms or ("EdDSA",)

    def __iter__(self) -> Iterator[VerificationKey]:
        return iter(self._keys.values())

    def __repr__(self) -> str:
        return f"StaticKeys(kids={list(self._keys)!r})"

    def get_key(self, kid: str | None) -> VerificationKey | None:
        return self._keys.get(kid)

    @classmethod
    def from_keyring(cls, keyring: Keyring) -> StaticKeys:
        """Every public signing key of the ring, the retired primaries included."""
        return cls(
            VerificationKey(kid, "EdDSA", public)
            for kid, public in keyring.public_signing_keys().items()
        )

    @classmethod
    def hs256(cls, secret: bytes | SecretBytes) -> StaticKeys:
        """The shared secret (at least 32 bytes); tokens with or without its kid are checked."""
        raw = hs256_secret(secret)
        return cls(
            [VerificationKey(hs256_kid(raw), "HS256", raw), VerificationKey(None, "HS256", raw)]
        )

    @classmethod
    def from_jwks(cls, jwks: Mapping[str, Any]) -> StaticKeys:
        """The Ed25519 signing keys of a JWKS document; other key types are skipped.

        Raises :class:`KeyringError` for a malformed document, or one publishing a private key.
        """
        entries = jwks.get("keys") if isinstance(jwks, Mapping) else None
        if not isinstance(entries, list):
            raise KeyringError("JWKS: the document must be an object with a 'keys' list")
        keys: list[VerificationKey] = []
        for index, jwk in enumerate(entries):
            where = f"JWKS: keys[{index}]"
            if not isinstance(jwk, dict):
                raise KeyringError(f"{where} is not an object")
            if (jwk.get("kty"), jwk.get("crv")) != ("OKP", "Ed25519"):
                continue
            if jwk.get("use", "sig") != "sig" or jwk.get("alg", "EdDSA") != "EdDSA":
                continue
            if "d" in jwk:
                raise KeyringError(f"{where} holds a private key: publish public keys only")
            kid = jwk.get("kid")
            if not isinstance(kid, str) or not kid or any(k.kid == kid for k in keys):
                raise KeyringError(f"{where} needs a kid of its own")
            try:
                public = OKPAlgorithm.from_jwk(jwk)
            except (jwt.InvalidKeyError, ValueError, TypeError):
                raise KeyringError(f"{where} is not a valid Ed25519 public key") from None
            if not isinstance(public, Ed25519PublicKey):
                raise KeyringError(f"{where} is not an Ed25519 public key")
            keys.append(VerificationKey(kid, "EdDSA", public))
        return cls(keys)
