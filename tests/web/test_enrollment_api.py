"""Enrolling over HTTP: a second device needs a step-up, wrong first codes count (§4.3, §4.7)."""

from __future__ import annotations

from typing import Any

from tests.web.conftest import PASSWORD, Api
from twostep.otp import parse_uri

EMAIL = "frank@example.com"
CODE = r"\b(\d{6})\b"


def _signed_in(api: Api) -> str:
    """Register, verify the address and sign in with the password; the access token."""
    registered = api.post("/auth/register", json={"email": EMAIL, "password": PASSWORD})
    assert registered.status_code == 201, registered.text
    code = api.mailed(EMAIL, CODE)
    verified = api.post(
        "/auth/email/verify", json={"email": EMAIL, "code": code, "password": PASSWORD}
    )
    assert verified.status_code == 200, verified.text
    first = api.post("/auth/login", json={"email": EMAIL, "password": PASSWORD}).json()
    assert first["requires_2fa"] is False
    return str(first["access_token"])


def _setup(api: Api, token: str, name: str) -> tuple[str, str]:
    """Start enrolling a device; its id and secret."""
    started = api.post("/2fa/setup", token, json={"device_name": name})
    assert started.status_code == 201, started.text
    return str(started.json()["device_id"]), parse_uri(started.json()["otpauth_uri"]).secret


def _confirm(api: Api, token: str, device_id: str, code: str) -> Any:
    return api.post("/2fa/setup/confirm", token, json={"device_id": device_id, "code": code})


def _wrong(api: Api, secret: str) -> str:
    accepted = {api.code(secret, offset) for offset in (-1, 0, 1)}
    return next(f"{n:06d}" for n in range(1_000_000) if f"{n:06d}" not in accepted)


def _devices(api: Api, token: str) -> list[str]:
    listed = api.get("/2fa/devices", token)
    assert listed.status_code == 200, listed.text
    return sorted(d["status"] for d in listed.json())


def test_a_second_device_needs_a_stepped_up_token(api: Api) -> None:
    token = _signed_in(api)
    device_id, secret = _setup(api, token, "Phone")
    assert _confirm(api, token, device_id, api.code(secret)).status_code == 200
    api.clock.advance(30)

    refused = api.post("/2fa/setup", token, json={"device_name": "Tablet"})
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "ELEVATION_REQUIRED"
    assert _devices(api, token) == ["active"]

    elevated = api.post("/auth/elevate", token, json={"code": api.code(secret)})
    assert elevated.status_code == 200, elevated.text
    stepped_up = elevated.json()["access_token"]
    second_id, second_secret = _setup(api, stepped_up, "Tablet")
    done = _confirm(api, stepped_up, second_id, api.code(second_secret))
    assert done.status_code == 200, done.text
    assert done.json()["backup_codes"] is None
    assert _devices(api, stepped_up) == ["active", "active"]


def test_wrong_first_codes_lock_the_account_even_for_the_right_code(api: Api) -> None:
    token = _signed_in(api)
    device_id, secret = _setup(api, token, "Phone")
    threshold = api.settings.lockout_threshold
    statuses = [
        _confirm(api, token, device_id, _wrong(api, secret)).status_code for _ in range(threshold)
    ]
    assert statuses == [401] * (threshold - 1) + [429]

    right = _confirm(api, token, device_id, api.code(secret))
    assert right.status_code == 429
    assert right.json()["error"]["code"] == "TOO_MANY_ATTEMPTS"
    assert 0 < int(right.headers["Retry-After"]) <= api.settings.lockout_minutes * 60
    assert _devices(api, token) == ["pending"]

    api.clock.advance(api.settings.lockout_minutes * 60)  # the lock lapses; so does the token
    again = api.post("/auth/login", json={"email": EMAIL, "password": PASSWORD}).json()
    done = _confirm(api, again["access_token"], device_id, api.code(secret))
    assert done.status_code == 200, done.text
    assert len(done.json()["backup_codes"]) == 10
