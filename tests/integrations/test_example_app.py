"""The example app against a twostep stand-in: tokens from a real signer, JWKS served in-process.

These tests play the twostep service's part with :class:`TokenSigner`; the step-up dance is
the example's contract: 2FA route open after a code, elevated route refused with the step-up
URL until the session is stepped up, and refused again once the elevation runs out.
"""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from examples.protected_app import ExampleSettings, create_app
from fastapi.testclient import TestClient

from tests.integrations.conftest import AUD, ISS, JWKSServer, Mint
from tests.integrations.contract import refused
from twostep.clock import ManualClock
from twostep.integrations import JWKSClient
from twostep.security import Keyring, TokenSigner


@pytest.fixture
def server(signer: TokenSigner) -> JWKSServer:
    return JWKSServer(signer.jwks())


@pytest.fixture
def app(server: JWKSServer, clock: ManualClock) -> TestClient:
    settings = ExampleSettings(twostep_url=ISS, audience=AUD)
    keys = JWKSClient(settings.jwks_url, fetch=server.fetch, clock=lambda: clock.now().timestamp())
    return TestClient(create_app(settings, keys=keys, clock=clock))


def bearer(token: str) -> Mapping[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_the_public_route_is_open(app: TestClient) -> None:
    assert app.get("/").status_code == 200


def test_no_or_bad_token_is_401(app: TestClient) -> None:
    refused(app.get("/dashboard"), 401, "UNAUTHENTICATED")
    refused(app.post("/settings/danger", headers=bearer("x.y.z")), 401, "INVALID_TOKEN")


def test_the_step_up_dance(app: TestClient, mint: Mint, clock: ManualClock) -> None:
    password_only = mint(["pwd"])
    refused(app.get("/dashboard", headers=bearer(password_only)), 403, "ELEVATION_REQUIRED")

    signed_in = mint(["pwd", "otp"])  # after /auth/login/verify with a code
    dashboard = app.get("/dashboard", headers=bearer(signed_in))
    assert dashboard.json() == {"user": "user-42", "signed_in_with": "pwd + otp"}
    error = refused(
        app.post("/settings/danger", headers=bearer(signed_in)), 403, "ELEVATION_REQUIRED"
    )
    assert error["step_up_url"] == f"{ISS}/account/step-up"

    clock.advance(60)
    elevated = mint(["pwd", "otp"], elevated_for=15 * 60)  # after /auth/elevate with a new code
    done = app.post("/settings/danger", headers=bearer(elevated))
    assert done.status_code == 200 and done.json()["changed"] == "yes"

    clock.advance(15 * 60)
    refused(app.post("/settings/danger", headers=bearer(elevated)), 401, "INVALID_TOKEN")
    longer_lived = mint(["pwd", "otp"], elevated_for=60)
    clock.advance(60)
    refused(app.post("/settings/danger", headers=bearer(longer_lived)), 403, "ELEVATION_REQUIRED")


def test_keys_rotated_at_twostep_are_picked_up(
    app: TestClient, server: JWKSServer, ring: Keyring, mint: Mint, clock: ManualClock
) -> None:
    assert app.get("/dashboard", headers=bearer(mint())).status_code == 200
    rotated = TokenSigner.ed25519(ring.rotated(), issuer=ISS, audience=AUD)
    server.jwks = rotated.jwks()
    clock.advance(10)
    assert app.get("/dashboard", headers=bearer(mint(signer=rotated))).status_code == 200


def test_settings_come_from_the_environment() -> None:
    settings = ExampleSettings.from_env(
        {"TWOSTEP_URL": "https://auth.example.test/", "TWOSTEP_AUDIENCE": "my-app"}
    )
    assert settings.twostep_url == "https://auth.example.test"
    assert settings.jwks_url == "https://auth.example.test/.well-known/jwks.json"
    assert settings.audience == "my-app"
    with pytest.raises(RuntimeError, match="TWOSTEP_URL"):
        ExampleSettings.from_env({})
    assert create_app(settings).title  # builds without contacting twostep
