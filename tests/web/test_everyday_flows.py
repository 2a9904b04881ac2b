"""Everyday flows over the API: a 2FA sign-in is a step-up, refused codes say why, a reset
with a code signs in."""

from __future__ import annotations

import jwt

from tests.web.conftest import PASSWORD, Api
from twostep.otp import parse_uri

EMAIL = "sam@example.com"


def _enrolled(api: Api) -> str:
    """Register, verify and enrol ``EMAIL``; its secret (the clock is on a fresh step)."""
    assert (
        api.post("/auth/register", json={"email": EMAIL, "password": PASSWORD}).status_code == 201
    )
    first = api.post("/auth/login", json={"email": EMAIL, "password": PASSWORD}).json()
    token = first["access_token"]
    api.verify_address(EMAIL, token)
    setup = api.post("/2fa/setup", token, json={"device_name": "Phone"}).json()
    secret = parse_uri(setup["otpauth_uri"]).secret
    body = {"device_id": setup["device_id"], "code": api.code(secret)}
    assert api.post("/2fa/setup/confirm", token, json=body).status_code == 200
    api.clock.advance(30)
    return secret


def _sign_in(api: Api, code: str) -> dict[str, str]:
    challenge = api.post("/auth/login", json={"email": EMAIL, "password": PASSWORD}).json()
    answer = api.post(
        "/auth/login/verify", json={"challenge_id": challenge["challenge_id"], "code": code}
    )
    assert answer.status_code == 200, answer.text
    tokens: dict[str, str] = answer.json()
    return tokens


def test_the_first_sensitive_action_after_a_2fa_sign_in_needs_no_second_code(api: Api) -> None:
    secret = _enrolled(api)
    code = api.code(secret)
    tokens = _sign_in(api, code)
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    assert claims["elevated_until"] == claims["auth_time"] + 15 * 60
    regenerated = api.post("/2fa/backup-codes/regenerate", tokens["access_token"])
    assert regenerated.status_code == 200, regenerated.text

    # the code just typed, sent again as a step-up, is refused and says why
    again = api.post("/auth/elevate", tokens["access_token"], json={"code": code})
    assert again.status_code == 401
    error = again.json()["error"]
    assert error["code"] == "INVALID_CODE" and error["reason"] == "already_used"
    assert error["message"] == "That code was just used. Wait for the next one in your app."
    wrong = api.post("/auth/elevate", tokens["access_token"], json={"code": "000000"})
    assert wrong.json()["error"]["reason"] in {"wrong", "already_used"}


def test_the_elevation_of_a_sign_in_lasts_the_window_only(api: Api) -> None:
    secret = _enrolled(api)
    tokens = _sign_in(api, api.code(secret))
    api.clock.advance(15 * 60)
    fresh = api.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]}).json()
    assert (
        "elevated_until"
        not in jwt.decode(fresh["access_token"], options={"verify_signature": False})
        or jwt.decode(fresh["access_token"], options={"verify_signature": False})["elevated_until"]
        <= api.clock.now().timestamp()
    )
    refused = api.post("/2fa/backup-codes/regenerate", fresh["access_token"])
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "ELEVATION_REQUIRED"


def test_wrong_codes_count_down_and_a_lock_says_so(api: Api) -> None:
    secret = _enrolled(api)
    challenge = api.post("/auth/login", json={"email": EMAIL, "password": PASSWORD}).json()
    wrong = "000000" if api.code(secret) != "000000" else "111111"
    body = {"challenge_id": challenge["challenge_id"], "code": wrong}
    errors = [api.post("/auth/login/verify", json=body).json()["error"] for _ in range(5)]
    assert [e.get("attempts_left") for e in errors[:4]] == [4, 3, 2, 1]
    assert all(e["reason"] == "wrong" for e in errors[:4])
    assert errors[4]["code"] == "TOO_MANY_ATTEMPTS" and errors[4]["locked"] is True
    sixth = api.post("/auth/login/verify", json={**body, "code": api.code(secret)})
    assert sixth.status_code == 429  # locked, never "this sign-in expired"
    assert sixth.json()["error"]["code"] == "TOO_MANY_ATTEMPTS"


def test_a_reset_with_a_code_returns_elevated_tokens(api: Api) -> None:
    secret = _enrolled(api)
    assert api.post("/auth/password/forgot", json={"email": EMAIL}).status_code == 202
    token = api.mailed(EMAIL, r"reset-password\?token=([\w\-]+)")
    body = {"token": token, "new_password": "a brand new passphrase", "code": api.code(secret)}
    done = api.post("/auth/password/reset", json=body)
    assert done.status_code == 200, done.text
    access = done.json()["access_token"]
    claims = jwt.decode(access, options={"verify_signature": False})
    assert claims["amr"] == ["email", "otp"] and claims["elevated_until"]
    assert api.post("/2fa/backup-codes/regenerate", access).status_code == 200
