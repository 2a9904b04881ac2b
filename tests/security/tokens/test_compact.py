"""The compact form parsed and built once: interchangeable with PyJWT in both directions, and
strict about every spelling PyJWT refuses."""

from __future__ import annotations

import jwt
import pytest

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
from twostep.security import Keyring
from twostep.security.tokens import StaticKeys, TokenSigner, TokenVerifier


def test_tokens_we_sign_verify_with_pyjwt(ring: Keyring, signer: TokenSigner) -> None:
    public = ring.public_signing_keys()[ring.signing_key_id or ""]
    token = issue(signer)
    payload = jwt.decode(token, public, algorithms=["EdDSA"], audience=AUD, issuer=ISS,
                         options={"verify_exp": False, "verify_iat": False})  # fmt: skip
    assert (payload["sub"], payload["sid"]) == ("user-1", "session-1")
    assert payload["amr"] == ["pwd", "otp"]
    header = jwt.get_unverified_header(token)
    assert header == {"alg": "EdDSA", "kid": ring.signing_key_id, "typ": "at+jwt"}


def test_tokens_pyjwt_signs_verify_with_us(ring: Keyring, verifier: TokenVerifier) -> None:
    headers = {"kid": ring.signing_key_id, "typ": "at+jwt"}
    token = jwt.encode(claims(sub="user-7"), ring.signing_key(), algorithm="EdDSA", headers=headers)
    assert verifier.verify(token, now=T).sub == "user-7"


def test_hs256_interchanges_with_pyjwt() -> None:
    signer = TokenSigner.hs256(SECRET, issuer=ISS, audience=AUD)
    verifier = signer.verifier()
    ours = issue(signer)
    decoded = jwt.decode(ours, SECRET, algorithms=["HS256"], audience=AUD,
                         options={"verify_exp": False, "verify_iat": False})  # fmt: skip
    assert decoded["sub"] == "user-1"
    theirs = jwt.encode(claims(), SECRET, algorithm="HS256",
                        headers={"kid": signer.kid, "typ": "at+jwt"})  # fmt: skip
    assert verifier.verify(theirs, now=T).sub == "user-1"


def test_a_non_canonical_segment_is_refused(signer: TokenSigner, verifier: TokenVerifier) -> None:
    header, payload, signature = issue(signer).split(".")
    last = signature[-1]  # 64 bytes end in 4 spare bits: flip one of them
    twin = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    flipped = twin[twin.index(last) ^ 1]
    rejects(verifier, f"{header}.{payload}.{signature[:-1]}{flipped}", "malformed")
    rejects(verifier, f"{header}.{payload}.{signature}=", "malformed")  # padding is not JWS


@pytest.mark.parametrize(
    "token",
    [
        "a.b",
        "a.b.c.d",
        "é.b.c",
        "!!!!.e30.AAAA",
        f"{segment(b'[1]')}.{segment(claims())}.AAAA",
        f"{segment(b'not json')}.{segment(claims())}.AAAA",
        f"{segment(b'{')}.{segment(claims())}.AAAA",
        "A.e30.AAAA",  # a segment of one character is no base64 at all
    ],
)
def test_malformed_tokens_are_refused(verifier: TokenVerifier, token: str) -> None:
    rejects(verifier, token, "malformed")


def test_a_key_id_that_is_not_a_string_is_malformed(ring: Keyring, verifier: TokenVerifier) -> None:
    rejects(verifier, sign_ed25519(ring, claims(), kid=["a", "b"]), "malformed")
    rejects(verifier, sign_ed25519(ring, claims(), kid={"x": 1}), "malformed")


def test_a_payload_that_is_not_an_object_is_malformed(
    ring: Keyring, verifier: TokenVerifier
) -> None:
    rejects(verifier, sign_ed25519(ring, b"[1, 2]"), "payload is malformed")
    rejects(verifier, sign_ed25519(ring, b"\xff\xfe"), "payload is malformed")


def test_an_audience_list_is_refused_even_when_it_names_us(
    ring: Keyring, verifier: TokenVerifier
) -> None:
    rejects(verifier, sign_ed25519(ring, claims(aud=[AUD])), "another audience")


def test_the_signature_is_checked_before_the_payload_is_read(ring: Keyring) -> None:
    verifier = TokenVerifier(StaticKeys.from_keyring(ring), issuer=ISS, audience=AUD)
    header, _, signature = sign_ed25519(ring, claims()).split(".")
    rejects(verifier, f"{header}.{segment(b'not json')}.{signature}", "signature is invalid")
