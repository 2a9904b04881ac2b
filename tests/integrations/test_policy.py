from __future__ import annotations

from typing import Any

import pytest

from tests.integrations.conftest import ISS, STEP_UP, Mint
from twostep.clock import ManualClock
from twostep.errors import (
    ElevationRequired,
    EnrollmentRequired,
    Forbidden,
    InvalidToken,
    MissingClaim,
    TwostepError,
    Unauthenticated,
)
from twostep.integrations import Guard, Rule, TwostepUnavailable
from twostep.integrations.policy import bearer_token, claim_matches
from twostep.security import AccessClaims, TokenVerifier


@pytest.mark.parametrize(
    ("header", "token"),
    [
        (None, None),
        ("", None),
        ("Bearer abc.def.ghi", "abc.def.ghi"),
        ("bearer abc", "abc"),
        ("BEARER   abc  ", "abc"),
        ("Bearer", None),
        ("Bearer a b", None),
        ("Basic abc", None),
        ("Bearerabc", None),
    ],
)
def test_bearer_token(header: str | None, token: str | None) -> None:
    assert bearer_token(header) == token


def claims(**extra: Any) -> AccessClaims:
    fields: dict[str, Any] = {
        "iss": ISS, "aud": "a", "sub": "u", "sid": "s", "jti": "j", "iat": 0, "exp": 10**10,
        "amr": ("pwd", "otp"), "auth_time": 1000, "role": "admin",
    }  # fmt: skip
    return AccessClaims(**fields, extra=extra)


@pytest.mark.parametrize(
    ("name", "value", "matches"),
    [
        ("role", "admin", True),
        ("role", "Admin", False),
        ("amr", "otp", True),
        ("amr", "backup", False),
        ("tenant", "acme", True),
        ("tenant", "other", False),
        ("scopes", "write", True),
        ("scopes", "delete", False),
        ("level", 1, True),
        ("level", True, False),
        ("level", "1", False),
        ("flag", True, True),
        ("flag", 1, False),
        ("missing", None, False),
    ],
)
def test_claim_matches(name: str, value: Any, matches: bool) -> None:
    found = claims(tenant="acme", scopes=["read", "write"], level=1, flag=True)
    assert claim_matches(found, name, value) is matches


@pytest.fixture
def guard(verifier: TokenVerifier, clock: ManualClock) -> Guard:
    return Guard(verifier, step_up_url=STEP_UP, clock=clock)


@pytest.mark.parametrize(
    ("error", "status", "body", "headers"),
    [
        (Unauthenticated(), 401, {}, {"WWW-Authenticate": "Bearer"}),
        (InvalidToken("x"), 401, {}, {"WWW-Authenticate": 'Bearer error="invalid_token"'}),
        (ElevationRequired(), 403, {"step_up_url": STEP_UP}, {}),
        (MissingClaim("role"), 403, {"claim": "role"}, {}),
        (Forbidden(), 403, {}, {}),
        (TwostepUnavailable(), 503, {}, {"Retry-After": "30"}),
    ],
)
def test_answers(
    guard: Guard, error: TwostepError, status: int, body: dict[str, str], headers: dict[str, str]
) -> None:
    answer = guard.answer(error)
    assert answer.status == status
    assert answer.body == {"error": {"code": error.code, "message": error.message, **body}}
    assert dict(answer.headers) == headers


def test_enforce(guard: Guard, clock: ManualClock) -> None:
    now = int(clock.now().timestamp())
    fresh = AccessClaims(
        iss=ISS, aud="a", sub="u", sid="s", jti="j", iat=now, exp=now + 900,
        amr=("pwd", "otp"), auth_time=now - 100, elevated_until=now + 1,
        second_factor_time=now - 100,
    )  # fmt: skip
    assert guard.enforce(fresh, Rule("elevated", max_age=100)) is fresh
    with pytest.raises(ElevationRequired, match="too old"):
        guard.enforce(fresh, Rule("2fa", max_age=99))
    clock.advance(1)
    with pytest.raises(ElevationRequired):
        guard.enforce(fresh, Rule("elevated"))
    assert guard.enforce(fresh, Rule("2fa")) is fresh
    assert guard.enforce(fresh, Rule("token", max_age=1)) is fresh


def test_an_elevation_is_never_a_second_factor(guard: Guard, clock: ManualClock) -> None:
    """A password step-up elevates an account without a device; it proves no second factor."""
    now = int(clock.now().timestamp())
    password_only = AccessClaims(
        iss=ISS, aud="a", sub="u", sid="s", jti="j", iat=now, exp=now + 900,
        amr=("pwd",), auth_time=now, elevated_until=now + 900,
    )  # fmt: skip
    assert guard.enforce(password_only, Rule("elevated")) is password_only
    for rule in (Rule("2fa"), Rule("2fa", max_age=3600), Rule("elevated", max_age=3600)):
        with pytest.raises(ElevationRequired):
            guard.enforce(password_only, rule)


def test_second_factor_age_comes_from_second_factor_time(guard: Guard, clock: ManualClock) -> None:
    """A later step-up with a password moves ``auth_time`` but not the second factor's age."""
    now = int(clock.now().timestamp())
    stale = AccessClaims(
        iss=ISS, aud="a", sub="u", sid="s", jti="j", iat=now, exp=now + 900,
        amr=("pwd", "otp"), auth_time=now, elevated_until=now + 900,
        second_factor_time=now - 3600,
    )  # fmt: skip
    assert guard.enforce(stale, Rule("2fa")) is stale
    with pytest.raises(ElevationRequired, match="too old"):
        guard.enforce(stale, Rule("2fa", max_age=600))
    no_time = AccessClaims(
        iss=ISS, aud="a", sub="u", sid="s", jti="j", iat=now, exp=now + 900,
        amr=("pwd", "otp"), auth_time=now,
    )  # fmt: skip
    with pytest.raises(ElevationRequired, match="too old"):
        guard.enforce(no_time, Rule("2fa", max_age=600))


def test_enrollment_sessions_are_refused_unless_allowed(
    verifier: TokenVerifier, clock: ManualClock
) -> None:
    now = int(clock.now().timestamp())
    limited = AccessClaims(
        iss=ISS, aud="a", sub="u", sid="s", jti="j", iat=now, exp=now + 900,
        amr=("pwd",), auth_time=now, purpose="enroll",
    )  # fmt: skip
    strict = Guard(verifier, clock=clock)
    with pytest.raises(EnrollmentRequired):
        strict.enforce(limited, Rule("token"))
    assert strict.answer(EnrollmentRequired()).status == 403
    lenient = Guard(verifier, clock=clock, allow_enrollment_sessions=True)
    assert lenient.enforce(limited, Rule("token")) is limited


def test_guard_authenticates_with_its_clock(guard: Guard, clock: ManualClock, mint: Mint) -> None:
    with pytest.raises(Unauthenticated):
        guard.authenticate(None)
    with pytest.raises(InvalidToken, match="malformed"):
        guard.authenticate("Bearer x")
    token = mint()
    assert guard.authenticate(f"Bearer {token}").sub == "user-42"
    clock.advance(900)
    with pytest.raises(InvalidToken, match="expired"):
        guard.authenticate(f"Bearer {token}")
