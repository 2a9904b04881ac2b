"""Access claims: elevation, the second factor and its age, read from the claims alone."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.security.tokens.support import AUD, ISS, NOW, T, issue
from twostep.security.tokens import AccessClaims, TokenSigner, TokenVerifier, proves_second_factor


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
