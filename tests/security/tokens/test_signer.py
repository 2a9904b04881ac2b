"""Issuing access tokens: what a signed token holds, and the input and configuration a
signer refuses.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import jwt
import pytest

from tests.security.tokens.support import AUD, ISS, NOW, SECRET, T, issue
from twostep.errors import ConfigurationError, KeyringError
from twostep.security import Keyring
from twostep.security.tokens import AccessClaims, StaticKeys, TokenSigner, TokenVerifier


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
