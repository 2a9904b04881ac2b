from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from twostep.errors import ConfigurationError, InvalidToken, KeyringError
from twostep.security import Keyring
from twostep.security.keyfile import b64url_encode
from twostep.security.tokens import (
    REQUIRED_CLAIMS,
    AccessClaims,
    StaticKeys,
    TokenSigner,
    TokenVerifier,
    proves_second_factor,
)

ISS, AUD = "https://auth.example.test", "example-api"
NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
T = NOW.timestamp()
SECRET = b"a shared secret of at least 32 bytes!"


@pytest.fixture(scope="module")
def ring() -> Keyring:
    return Keyring.generate(signing=True)


@pytest.fixture(scope="module")
def signer(ring: Keyring) -> TokenSigner:
    return TokenSigner.ed25519(ring, issuer=ISS, audience=AUD)


@pytest.fixture(scope="module")
def verifier(ring: Keyring) -> TokenVerifier:
    return TokenVerifier(StaticKeys.from_keyring(ring), issuer=ISS, audience=AUD)


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


# --- round trips ----------------------------------------------------------------------------


def test_ed25519_round_trip(signer: TokenSigner, verifier: TokenVerifier, ring: Keyring) -> None:
    issued = signer.issue(
        subject="user-1", session_id="session-1", amr=["pwd", "otp"], auth_time=NOW,
        now=NOW + timedelta(seconds=30), role="admin",
    )  # fmt: skip
    assert issued.expires_in == 900 and issued.token not in repr(issued)
    header = jwt.get_unverified_header(issued.token)
    assert header == {"alg": "EdDSA", "kid": ring.signing_key_id, "typ": "at+jwt"}
    got = verifier.verify(issued.token, now=T + 60)
    assert got == AccessClaims(
        iss=ISS, aud=AUD, sub="user-1", sid="session-1", jti=issued.jti, iat=int(T) + 30,
        exp=int(T) + 930, amr=("pwd", "otp"), auth_time=int(T), role="admin",
        second_factor_time=int(T),
    )  # fmt: skip
    assert got.elevated_until is None and dict(got.extra) == {}


def test_hs256_round_trip() -> None:
    signer = TokenSigner.hs256(SECRET, issuer=ISS, audience=AUD, ttl_seconds=60)
    verifier = TokenVerifier(StaticKeys.hs256(SECRET), issuer=ISS, audience=AUD)
    issued = signer.issue(subject="u", session_id="s", amr=["pwd"], auth_time=NOW, now=NOW)
    assert jwt.get_unverified_header(issued.token)["alg"] == "HS256"
    assert verifier.verify(issued.token, now=T + 59).exp == int(T) + 60
    assert signer.jwks() == {"keys": []}
    assert signer.verifier().verify(issued.token, now=T).sub == "u"


def test_jwks_publishes_every_public_key_and_verifies(signer: TokenSigner, ring: Keyring) -> None:
    jwks = signer.jwks()
    [key] = jwks["keys"]
    public = ring.public_signing_keys()[key["kid"]]
    raw = public.public_bytes(Encoding.Raw, PublicFormat.Raw)
    assert key == {
        "kty": "OKP", "crv": "Ed25519", "x": b64url_encode(raw), "kid": ring.signing_key_id,
        "alg": "EdDSA", "use": "sig",
    }  # fmt: skip
    verifier = TokenVerifier(
        StaticKeys.from_jwks(json.loads(json.dumps(jwks))), issuer=ISS, audience=AUD
    )
    assert verifier.verify(issue(signer), now=T).sub == "user-1"


def test_extra_claims_round_trip_but_cannot_override(
    signer: TokenSigner, verifier: TokenVerifier
) -> None:
    got = verifier.verify(issue(signer, extra={"tenant": "acme", "scope": ["a"]}), now=T)
    assert dict(got.extra) == {"tenant": "acme", "scope": ["a"]}
    assert got.get("tenant") == "acme" and got.get("sub") == "user-1" and got.get("x", 1) == 1
    with pytest.raises(ValueError, match="may not override exp"):
        issue(signer, extra={"exp": 1})


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"amr": "pwd"}, "amr"),
        ({"amr": []}, "amr"),
        ({"subject": ""}, "subject"),
        ({"now": datetime(2024, 5, 1)}, "timezone-aware"),
        ({"auth_time": datetime(2024, 5, 1)}, "timezone-aware"),
        ({"elevated_until": datetime(2024, 5, 1)}, "timezone-aware"),
    ],
)
def test_issue_refuses_bad_input(
    signer: TokenSigner, changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        issue(signer, **changes)


def test_signer_and_verifier_refuse_weak_configuration(ring: Keyring) -> None:
    with pytest.raises(ConfigurationError, match="32 bytes"):
        TokenSigner.hs256(b"short", issuer=ISS, audience=AUD)
    with pytest.raises(ConfigurationError, match="32 bytes"):
        StaticKeys.hs256(b"x" * 31)
    with pytest.raises(KeyringError, match="ensure_signing_key"):
        TokenSigner.ed25519(Keyring.generate(), issuer=ISS, audience=AUD)
    for algorithms in (["none"], ["EdDSA", "RS256"], []):
        with pytest.raises(ConfigurationError, match="token algorithms"):
            TokenVerifier(
                StaticKeys.from_keyring(ring), issuer=ISS, audience=AUD, algorithms=algorithms
            )
    with pytest.raises(ConfigurationError, match="between 1 second and 1 day"):
        TokenSigner.ed25519(ring, issuer=ISS, audience=AUD, ttl_seconds=0)


# --- rejections -----------------------------------------------------------------------------


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


# --- rotation -------------------------------------------------------------------------------


def test_a_token_signed_before_rotation_still_verifies(ring: Keyring, signer: TokenSigner) -> None:
    old_token = issue(signer)
    rotated = ring.rotated()
    new_signer = TokenSigner.ed25519(rotated, issuer=ISS, audience=AUD)
    assert new_signer.kid == rotated.signing_key_id != ring.signing_key_id
    jwks = StaticKeys.from_jwks(new_signer.jwks())
    assert [key.kid for key in jwks] == [ring.signing_key_id, rotated.signing_key_id]
    for verifier in (new_signer.verifier(), TokenVerifier(jwks, issuer=ISS, audience=AUD)):
        assert verifier.verify(old_token, now=T).sub == "user-1"
        assert verifier.verify(issue(new_signer), now=T).sub == "user-1"
    assert ring.signing_key_id is not None
    after = TokenVerifier(
        StaticKeys.from_keyring(rotated.retired(ring.signing_key_id)), issuer=ISS, audience=AUD
    )
    rejects(after, old_token, "unknown key id")


# --- claims helpers -------------------------------------------------------------------------


def make(amr: tuple[str, ...], elevated_until: int | None = None) -> AccessClaims:
    return AccessClaims(
        iss=ISS, aud=AUD, sub="u", sid="s", jti="j", iat=1000, exp=1900, amr=amr,
        auth_time=1000, elevated_until=elevated_until,
        second_factor_time=1000 if proves_second_factor(amr) else None,
    )  # fmt: skip


def test_elevation_lasts_until_elevated_until() -> None:
    assert make(("pwd", "otp"), elevated_until=1600).is_elevated(1599.9)
    assert not make(("pwd", "otp"), elevated_until=1600).is_elevated(1600)
    assert not make(("pwd", "otp")).is_elevated(1000)


@pytest.mark.parametrize(
    ("amr", "second", "age"),
    [
        (("pwd",), False, None),
        (("email",), False, None),
        (("pwd", "otp"), True, 250),
        (("pwd", "backup"), True, 250),
        (("otp",), True, 250),
    ],
)
def test_second_factor_and_its_age(amr: tuple[str, ...], second: bool, age: int | None) -> None:
    assert make(amr).has_second_factor() is second
    assert make(amr).two_factor_age(1250.7) == age


def test_two_factor_age_is_never_negative() -> None:
    assert make(("otp",)).two_factor_age(900) == 0


def test_elevated_token_round_trips(signer: TokenSigner, verifier: TokenVerifier) -> None:
    token = issue(signer, elevated_until=NOW + timedelta(minutes=15))
    got = verifier.verify(token, now=T)
    assert got.elevated_until == int(T) + 900
    assert got.is_elevated(T + 899) and not got.is_elevated(T + 900)


@pytest.mark.parametrize(
    ("amr", "acr", "has_time"),
    [(["pwd"], "aal1", False), (["email"], "aal1", False), (["pwd", "otp"], "aal2", True),
     (["email", "backup"], "aal2", True), (["pwd", "hwk"], "aal2", True)],
)  # fmt: skip
def test_acr_and_second_factor_time_follow_amr_alone(
    signer: TokenSigner, verifier: TokenVerifier, amr: list[str], acr: str, has_time: bool
) -> None:
    """``acr`` is derived from ``amr``; a token without a second factor carries no time for one."""
    issued = signer.issue(
        subject="u", session_id="s", amr=amr, auth_time=NOW, now=NOW,
        second_factor_time=NOW - timedelta(minutes=5), purpose="enroll",
    )  # fmt: skip
    payload = jwt.decode(issued.token, options={"verify_signature": False})
    assert payload["acr"] == acr and payload["purpose"] == "enroll"
    assert ("second_factor_time" in payload) is has_time
    got = verifier.verify(issued.token, now=T)
    assert got.acr == acr and got.is_limited()
    assert got.two_factor_age(T) == (300 if has_time else None)
