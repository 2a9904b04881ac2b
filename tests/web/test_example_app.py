"""The example app, protected by a real twostep service: the whole step-up dance.

The twostep app runs in-process (``api`` fixture); the example verifies its tokens offline
through the service's real ``/.well-known/jwks.json``.
"""

from __future__ import annotations

from examples.protected_app import ExampleSettings, create_app
from fastapi.testclient import TestClient

from tests.web.conftest import PASSWORD, Api
from twostep.integrations import JWKSClient
from twostep.otp import parse_uri

EMAIL = "fran@example.com"


def test_step_up_dance_against_the_real_service(api: Api) -> None:
    public_url = api.settings.public_url
    keys = JWKSClient(
        f"{public_url}/.well-known/jwks.json",
        fetch=lambda: api.client.get("/.well-known/jwks.json").json(),
        clock=lambda: api.clock.now().timestamp(),
    )
    example = TestClient(
        create_app(ExampleSettings(twostep_url=public_url), keys=keys, clock=api.clock)
    )

    def bearer(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    assert example.get("/").status_code == 200
    assert example.get("/dashboard").status_code == 401

    api.post("/auth/register", json={"email": EMAIL, "password": PASSWORD})
    password_only = api.post("/auth/login", json={"email": EMAIL, "password": PASSWORD}).json()
    refused = example.get("/dashboard", headers=bearer(password_only["access_token"]))
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "ELEVATION_REQUIRED"
    assert refused.json()["error"]["step_up_url"]
    # A password step-up elevates an account without a device, but is no second factor.
    stepped_up = api.post(
        "/auth/elevate", password_only["access_token"], json={"password": PASSWORD}
    ).json()
    by_password = example.get("/dashboard", headers=bearer(stepped_up["access_token"]))
    assert by_password.status_code == 403
    assert by_password.json()["error"]["code"] == "ELEVATION_REQUIRED"

    api.verify_address(EMAIL, password_only["access_token"])
    setup = api.post("/2fa/setup", password_only["access_token"], json={}).json()
    secret = parse_uri(setup["otpauth_uri"]).secret
    api.post("/2fa/setup/confirm", password_only["access_token"],
             json={"device_id": setup["device_id"], "code": api.code(secret)})  # fmt: skip
    api.clock.advance(30)
    challenge = api.post("/auth/login", json={"email": EMAIL, "password": PASSWORD}).json()
    tokens = api.post(
        "/auth/login/verify",
        json={"challenge_id": challenge["challenge_id"], "code": api.code(secret)},
    ).json()
    signed_in = tokens["access_token"]
    assert example.get("/dashboard", headers=bearer(signed_in)).status_code == 200
    # A sign-in with a second factor counts as a step-up for the window (DESIGN §4.7) ...
    assert example.post("/settings/danger", headers=bearer(signed_in)).status_code == 200
    # ... and only for the window.
    api.clock.advance(15 * 60)
    signed_in = api.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]}).json()[
        "access_token"
    ]
    danger = example.post("/settings/danger", headers=bearer(signed_in))
    assert danger.status_code == 403 and danger.json()["error"]["code"] == "ELEVATION_REQUIRED"

    api.clock.advance(30)
    elevated = api.post("/auth/elevate", signed_in, json={"code": api.code(secret)}).json()
    assert (
        example.post("/settings/danger", headers=bearer(elevated["access_token"])).status_code
        == 200
    )

    api.clock.advance(16 * 60)
    late = example.post("/settings/danger", headers=bearer(elevated["access_token"]))
    assert late.status_code in (401, 403)
