"""Verifying access tokens: every forged, tampered, stale or malformed token is refused, and
the refusal never echoes the token.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tests.security.tokens.support import (
    AUD,
    ISS,
    SECRET,
    T,
    claims,
    issue,
    rejects,
    segment,
    sign_ed25519,
)
from twostep.errors import InvalidToken
from twostep.security import Keyring
from twostep.security.keyfile import b64url_encode
from twostep.security.tokens import REQUIRED_CLAIMS, StaticKeys, TokenSigner, TokenVerifier


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
def test_alg_none_is_refused(signer: TokenSigner, verifier: TokenVerifier, alg: str) -> None:
    header, payload, _ = issue(signer).split(".")
    unsigned = f"{segment({'alg': alg, 'typ': 'at+jwt'})}.{payload}."
    rejects(verifier, unsigned, "alg 'none'")
    with_kid = json.loads(jwt.utils.base64url_decode(header)) | {"alg": alg}
    rejects(verifier, f"{segment(with_kid)}.{payload}.", "alg 'none'")


def test_alg_none_is_refused_even_when_hs256_is_allowed() -> None:
    verifier = TokenVerifier(StaticKeys.hs256(SECRET), issuer=ISS, audience=AUD)
    rejects(verifier, f"{segment({'alg': 'none', 'typ': 'at+jwt'})}.{segment(claims())}.", "none")


def forge_hs256(kid: str | None, key: bytes, payload: Mapping[str, Any]) -> str:
    header = {"alg": "HS256", "typ": "at+jwt"} | ({"kid": kid} if kid else {})
    signing_input = f"{segment(header)}.{segment(payload)}"
    mac = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url_encode(mac)}"


def public_forms(ring: Keyring) -> list[bytes]:
    public = ring.public_signing_keys()[ring.signing_key_id or ""]
    raw = public.public_bytes(Encoding.Raw, PublicFormat.Raw)
    pem = public.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    return [raw, pem, b64url_encode(raw).encode()]


def test_hs256_signed_with_the_public_key_is_refused(
    ring: Keyring, verifier: TokenVerifier
) -> None:
    for key in public_forms(ring):
        rejects(verifier, forge_hs256(ring.signing_key_id, key, claims()), "'HS256' is not allowed")


def test_swapped_algorithm_is_refused_even_when_hs256_is_allowed(ring: Keyring) -> None:
    both = TokenVerifier(
        StaticKeys.from_keyring(ring), issuer=ISS, audience=AUD, algorithms=["EdDSA", "HS256"]
    )
    for key in public_forms(ring):
        rejects(both, forge_hs256(ring.signing_key_id, key, claims()), "does not match the key")
        rejects(both, forge_hs256(None, key, claims()), "names no key id")


def test_eddsa_token_is_refused_by_an_hs256_verifier(signer: TokenSigner) -> None:
    verifier = TokenVerifier(StaticKeys.hs256(SECRET), issuer=ISS, audience=AUD)
    rejects(verifier, issue(signer), "'EdDSA' is not allowed")


def test_hs256_with_another_secret_is_refused() -> None:
    verifier = TokenVerifier(StaticKeys.hs256(SECRET), issuer=ISS, audience=AUD)
    other = TokenSigner.hs256(b"another secret, also 32 bytes long", issuer=ISS, audience=AUD)
    rejects(verifier, issue(other), "unknown key id")
    rejects(
        verifier, forge_hs256(None, b"another secret, also 32 bytes long", claims()), "signature"
    )
    assert verifier.verify(forge_hs256(None, SECRET, claims()), now=T).sub == "user-1"


def test_tampered_payload_is_refused(signer: TokenSigner, verifier: TokenVerifier) -> None:
    header, payload, signature = issue(signer).split(".")
    forged = json.loads(jwt.utils.base64url_decode(payload)) | {"sub": "admin"}
    rejects(verifier, f"{header}.{segment(forged)}.{signature}", "signature is invalid")


def test_tampered_signature_is_refused(signer: TokenSigner, verifier: TokenVerifier) -> None:
    header, payload, signature = issue(signer).split(".")
    raw = bytearray(jwt.utils.base64url_decode(signature))
    raw[0] ^= 1
    rejects(verifier, f"{header}.{payload}.{b64url_encode(bytes(raw))}", "signature is invalid")
    rejects(verifier, f"{header}.{payload}.", "signature is invalid")


def test_tampered_header_is_refused(
    signer: TokenSigner, verifier: TokenVerifier, ring: Keyring
) -> None:
    _, payload, signature = issue(signer).split(".")
    header = {"alg": "EdDSA", "typ": "at+jwt", "kid": ring.signing_key_id, "x": 1}
    rejects(verifier, f"{segment(header)}.{payload}.{signature}", "signature is invalid")


def test_wrong_audience_is_refused(ring: Keyring, verifier: TokenVerifier) -> None:
    other = TokenSigner.ed25519(ring, issuer=ISS, audience="another-api")
    rejects(verifier, issue(other), "another audience")
    rejects(verifier, sign_ed25519(ring, claims(aud=[AUD, "x"])), "another audience")


def test_wrong_issuer_is_refused(ring: Keyring, verifier: TokenVerifier) -> None:
    other = TokenSigner.ed25519(ring, issuer="https://evil.example.test", audience=AUD)
    rejects(verifier, issue(other), "another issuer")


def test_expired_token_is_refused(signer: TokenSigner, verifier: TokenVerifier) -> None:
    token = issue(signer)
    assert verifier.verify(token, now=T + 899).sub == "user-1"
    rejects(verifier, token, "expired", now=T + 900)
    rejects(verifier, token, "expired", now=T + 10_000)


def test_leeway_extends_expiry_and_tolerates_a_skewed_iat(
    ring: Keyring, signer: TokenSigner
) -> None:
    lenient = TokenVerifier(
        StaticKeys.from_keyring(ring), issuer=ISS, audience=AUD, leeway_seconds=30
    )
    token = issue(signer)
    assert lenient.verify(token, now=T + 929).sub == "user-1"
    rejects(lenient, token, "expired", now=T + 930)
    assert lenient.verify(token, now=T - 30).sub == "user-1"


def test_token_from_the_future_is_refused(signer: TokenSigner, verifier: TokenVerifier) -> None:
    rejects(verifier, issue(signer), "issued in the future", now=T - 1)


def test_not_before_is_honoured(ring: Keyring, verifier: TokenVerifier) -> None:
    rejects(verifier, sign_ed25519(ring, claims(nbf=int(T) + 10)), "not valid yet", now=T + 9)
    assert verifier.verify(sign_ed25519(ring, claims(nbf=int(T) + 10)), now=T + 10).sid


def test_unknown_kid_is_refused(verifier: TokenVerifier) -> None:
    stranger = TokenSigner.ed25519(Keyring.generate(signing=True), issuer=ISS, audience=AUD)
    token = issue(stranger)
    rejects(verifier, token, f"unknown key id '{jwt.get_unverified_header(token)['kid']}'")


def test_missing_kid_is_refused(ring: Keyring, verifier: TokenVerifier) -> None:
    rejects(verifier, sign_ed25519(ring, claims(), kid=...), "names no key id")
    rejects(verifier, sign_ed25519(ring, claims(), kid=7), "malformed")


@pytest.mark.parametrize("typ", [..., None, "JWT", "jwt", "at+jwt2", 5])
def test_other_token_types_are_refused(ring: Keyring, verifier: TokenVerifier, typ: object) -> None:
    rejects(verifier, sign_ed25519(ring, claims(), typ=typ), "not an access token")


@pytest.mark.parametrize("claim", REQUIRED_CLAIMS)
def test_each_missing_required_claim_is_refused(
    ring: Keyring, verifier: TokenVerifier, claim: str
) -> None:
    rejects(verifier, sign_ed25519(ring, claims(**{claim: ...})), f"lacks the '{claim}' claim")


WRONG_TYPES: list[tuple[str, object, str]] = [
    ("sub", 5, "another|'sub'|malformed"),
    ("sub", "", "'sub' must be a non-empty string"),
    ("sid", 7, "'sid' must be a non-empty string"),
    ("jti", ["x"], "malformed|'jti'"),
    ("iat", "now", "'iat' must be an integer"),
    ("iat", True, "'iat' must be an integer"),
    ("exp", int(T) + 0.5, "'exp' must be an integer"),
    ("exp", "later", "'exp' must be an integer"),
    ("auth_time", {}, "'auth_time' must be an integer"),
    ("amr", "pwd", "'amr' must be a non-empty list"),
    ("amr", [], "'amr' must be a non-empty list"),
    ("amr", ["pwd", 1], "'amr' must be a non-empty list"),
    ("elevated_until", "soon", "'elevated_until' must be an integer"),
    ("role", 1, "'role' must be a string"),
    ("iss", 1, "another issuer|malformed"),
    ("nbf", "x", "not valid yet"),
]


@pytest.mark.parametrize(
    ("claim", "value", "message"), WRONG_TYPES, ids=[f"{c}={v!r}" for c, v, _ in WRONG_TYPES]
)
def test_claims_of_the_wrong_type_are_refused(
    ring: Keyring, verifier: TokenVerifier, claim: str, value: object, message: str
) -> None:
    rejects(verifier, sign_ed25519(ring, claims(**{claim: value})), message)


def test_a_payload_that_is_not_an_object_is_refused(ring: Keyring, verifier: TokenVerifier) -> None:
    rejects(verifier, sign_ed25519(ring, b"[1, 2]"), "malformed")
    rejects(verifier, sign_ed25519(ring, b"not json"), "malformed")


@pytest.mark.parametrize(
    "token",
    ["", "abc", "a.b", "a.b.c", "!!.!!.!!", "eyJ.eyJ.sig", "x" * 9000, f"{segment(b'[]')}.e30."],
)
def test_malformed_tokens_are_refused(verifier: TokenVerifier, token: str) -> None:
    rejects(verifier, token, "malformed|no algorithm")


def test_a_non_string_token_is_refused(verifier: TokenVerifier) -> None:
    with pytest.raises(InvalidToken, match="malformed"):
        verifier.verify(b"a.b.c", now=T)  # type: ignore[arg-type]


def test_verifier_reads_the_clock_when_not_given_now(
    signer: TokenSigner, verifier: TokenVerifier
) -> None:
    with pytest.raises(InvalidToken, match="expired"):
        verifier.verify(issue(signer))  # NOW is long past
