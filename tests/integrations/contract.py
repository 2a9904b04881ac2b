"""One behaviour for every adapter: subclass :class:`AdapterContract` and provide ``client``.

The app behind ``client`` must expose ``/public`` (open), ``/token`` (any valid token),
``/2fa`` (a second factor), ``/elevated`` (a live elevation) and ``/admin`` (claim
``role == "admin"``); each protected route answers ``{"sub": ...}``. It must use the
``clock`` fixture and the step-up URL :data:`STEP_UP`.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.integrations.conftest import STEP_UP, Mint
from twostep.clock import ManualClock
from twostep.security import Keyring, TokenSigner

PROTECTED = ["/token", "/2fa", "/elevated", "/admin"]


def refused(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert list(body) == ["error"]
    error: dict[str, Any] = body["error"]
    assert error["code"] == code and isinstance(error["message"], str) and error["message"]
    return error


class AdapterContract:
    @pytest.fixture
    def client(self) -> TestClient:
        raise NotImplementedError

    def test_public_route_needs_no_token(self, client: TestClient) -> None:
        assert client.get("/public").json() == {"ok": True}

    @pytest.mark.parametrize("path", PROTECTED)
    def test_no_token_is_401(self, client: TestClient, path: str) -> None:
        response = client.get(path)
        error = refused(response, 401, "UNAUTHENTICATED")
        assert set(error) == {"code", "message"}
        assert response.headers["www-authenticate"] == "Bearer"

    @pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer  ", "token abc"])
    def test_no_bearer_token_is_401(self, client: TestClient, header: str) -> None:
        refused(client.get("/token", headers={"Authorization": header}), 401, "UNAUTHENTICATED")

    @pytest.mark.parametrize("path", PROTECTED)
    def test_bad_token_is_401(self, client: TestClient, path: str) -> None:
        response = client.get(path, headers={"Authorization": "Bearer not.a.token"})
        refused(response, 401, "INVALID_TOKEN")
        assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'

    def test_token_from_another_service_is_401(self, client: TestClient, mint: Mint) -> None:
        stranger = TokenSigner.ed25519(
            Keyring.generate(signing=True), issuer=mint.signer.issuer, audience=mint.signer.audience
        )
        headers = mint.bearer(signer=stranger, role="admin", elevated_for=600)
        for path in PROTECTED:
            error = refused(client.get(path, headers=headers), 401, "INVALID_TOKEN")
            assert "unknown key id" in error["message"]

    def test_expired_token_is_401(self, client: TestClient, mint: Mint, clock: ManualClock) -> None:
        headers = mint.bearer()
        assert client.get("/token", headers=headers).status_code == 200
        clock.advance(mint.signer.ttl_seconds)
        error = refused(client.get("/token", headers=headers), 401, "INVALID_TOKEN")
        assert "expired" in error["message"]

    def test_valid_token_reaches_the_route(self, client: TestClient, mint: Mint) -> None:
        response = client.get("/token", headers=mint.bearer(["pwd"]))
        assert response.status_code == 200 and response.json() == {"sub": "user-42"}

    def test_password_only_token_cannot_use_a_2fa_route(
        self, client: TestClient, mint: Mint
    ) -> None:
        error = refused(client.get("/2fa", headers=mint.bearer(["pwd"])), 403, "ELEVATION_REQUIRED")
        assert error["step_up_url"] == STEP_UP

    @pytest.mark.parametrize("amr", [["pwd", "otp"], ["pwd", "backup"]])
    def test_second_factor_opens_a_2fa_route(
        self, client: TestClient, mint: Mint, amr: list[str]
    ) -> None:
        assert client.get("/2fa", headers=mint.bearer(amr)).json() == {"sub": "user-42"}

    @pytest.mark.parametrize("amr", [["pwd"], ["pwd", "otp"]])
    def test_not_elevated_is_403_with_step_up_url(
        self, client: TestClient, mint: Mint, amr: list[str]
    ) -> None:
        error = refused(
            client.get("/elevated", headers=mint.bearer(amr)), 403, "ELEVATION_REQUIRED"
        )
        assert error == {
            "code": "ELEVATION_REQUIRED",
            "message": error["message"],
            "step_up_url": STEP_UP,
        }

    def test_elevated_token_opens_an_elevated_route(self, client: TestClient, mint: Mint) -> None:
        headers = mint.bearer(elevated_for=900)
        assert client.get("/elevated", headers=headers).json() == {"sub": "user-42"}

    def test_elevation_runs_out(self, client: TestClient, mint: Mint, clock: ManualClock) -> None:
        headers = mint.bearer(elevated_for=300)
        clock.advance(299)
        assert client.get("/elevated", headers=headers).status_code == 200
        clock.advance(1)
        refused(client.get("/elevated", headers=headers), 403, "ELEVATION_REQUIRED")
        assert client.get("/token", headers=headers).status_code == 200  # the token still lives

    def test_claim_present_opens_the_route(self, client: TestClient, mint: Mint) -> None:
        assert client.get("/admin", headers=mint.bearer(role="admin")).json() == {"sub": "user-42"}

    @pytest.mark.parametrize("role", [None, "user", "Admin"])
    def test_claim_absent_or_different_is_403(
        self, client: TestClient, mint: Mint, role: str | None
    ) -> None:
        error = refused(client.get("/admin", headers=mint.bearer(role=role)), 403, "MISSING_CLAIM")
        assert error["claim"] == "role"
