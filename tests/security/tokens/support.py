"""Helpers shared by the token tests: the issuer and audience, a fixed moment, and tokens
built by hand (any header, any payload) for the checks that come after the signature."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pytest

from twostep.errors import InvalidToken
from twostep.security import Keyring
from twostep.security.keyfile import b64url_encode
from twostep.security.tokens import TokenSigner, TokenVerifier

ISS, AUD = "https://auth.example.test", "example-api"
NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
T = NOW.timestamp()
SECRET = b"a shared secret of at least 32 bytes!"


def issue(signer: TokenSigner, **changes: Any) -> str:
    fields: dict[str, Any] = {
        "subject": "user-1",
        "session_id": "session-1",
        "amr": ["pwd", "otp"],
        "auth_time": NOW,
        "now": NOW,
    }
    fields.update(changes)
    return signer.issue(**fields).token


def segment(data: Mapping[str, Any] | bytes) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return b64url_encode(raw)


def claims(**changes: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "iss": ISS, "aud": AUD, "sub": "user-1", "sid": "session-1", "jti": "j1",
        "iat": int(T), "exp": int(T) + 900, "amr": ["pwd"], "auth_time": int(T),
    }  # fmt: skip
    payload.update(changes)
    return {k: v for k, v in payload.items() if v is not ...}


def sign_ed25519(ring: Keyring, payload: Mapping[str, Any] | bytes, **header: Any) -> str:
    """A token signed by the real key, by hand, with any payload: for checks after the signature."""
    fields = {"alg": "EdDSA", "kid": ring.signing_key_id, "typ": "at+jwt", **header}
    signing_input = (
        f"{segment({k: v for k, v in fields.items() if v is not ...})}.{segment(payload)}"
    )
    signature = ring.signing_key().sign(signing_input.encode())
    return f"{signing_input}.{b64url_encode(signature)}"


def rejects(verifier: TokenVerifier, token: str, message: str, now: float = T) -> None:
    with pytest.raises(InvalidToken, match=message) as caught:
        verifier.verify(token, now=now)
    assert len(token) < 8 or token not in str(caught.value)
    assert all(part not in str(caught.value) for part in token.split(".") if len(part) > 8)
