from __future__ import annotations

from typing import Annotated, Any

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

from tests.integrations.conftest import STEP_UP, Mint
from tests.integrations.contract import AdapterContract, refused
from twostep.clock import ManualClock
from twostep.integrations.fastapi import (
    CurrentUser,
    ElevatedUser,
    TwoFactorUser,
    TwostepAuth,
    require_2fa,
    require_claim,
    require_elevated,
)
from twostep.security import AccessClaims, TokenVerifier

Admin = Annotated[AccessClaims, Depends(require_claim("role", "admin"))]


def build(auth: TwostepAuth | None) -> FastAPI:
    app = FastAPI()
    if auth is not None:
        auth.install(app)

    @app.get("/public")
    def public() -> dict[str, bool]:
        return {"ok": True}

    @app.get("/token")
    def token(user: CurrentUser) -> dict[str, str]:
        return {"sub": user.sub}

    @app.get("/2fa")
    async def two_factor(user: TwoFactorUser) -> dict[str, str]:
        return {"sub": user.sub}

    @app.get("/elevated")
    def elevated(user: ElevatedUser) -> dict[str, str]:
        return {"sub": user.sub}

    @app.get("/admin")
    def admin(user: Admin) -> dict[str, str]:
        return {"sub": user.sub}

    @app.get("/fresh", dependencies=[Depends(require_2fa(max_age=300))])
    def fresh() -> dict[str, bool]:
        return {"ok": True}

    @app.post("/transfer", dependencies=[Depends(require_elevated(max_age=60))])
    def transfer() -> dict[str, bool]:
        return {"ok": True}

    return app


class TestFastAPIDependencies(AdapterContract):
    @pytest.fixture
    def client(self, verifier: TokenVerifier, clock: ManualClock) -> TestClient:
        return TestClient(build(TwostepAuth(verifier, step_up_url=STEP_UP, clock=clock)))

    def test_require_2fa_max_age(self, client: TestClient, mint: Mint) -> None:
        assert client.get("/fresh", headers=mint.bearer(auth_age=300)).status_code == 200
        error = refused(
            client.get("/fresh", headers=mint.bearer(auth_age=301)), 403, "ELEVATION_REQUIRED"
        )
        assert error["step_up_url"] == STEP_UP
        refused(client.get("/fresh", headers=mint.bearer(["pwd"])), 403, "ELEVATION_REQUIRED")

    def test_require_elevated_max_age(self, client: TestClient, mint: Mint) -> None:
        ok = mint.bearer(elevated_for=900, auth_age=60)
        assert client.post("/transfer", headers=ok).status_code == 200
        stale = mint.bearer(elevated_for=900, auth_age=61)
        refused(client.post("/transfer", headers=stale), 403, "ELEVATION_REQUIRED")

    def test_openapi_documents_the_bearer_scheme(self, client: TestClient) -> None:
        schema: dict[str, Any] = client.get("/openapi.json").json()
        assert schema["components"]["securitySchemes"]["twostep"]["scheme"] == "bearer"
        assert schema["paths"]["/elevated"]["get"]["security"] == [{"twostep": []}]
        assert "security" not in schema["paths"]["/public"]["get"]


def test_dependencies_without_install_fail_loudly(mint: Mint) -> None:
    client = TestClient(build(None), raise_server_exceptions=True)
    with pytest.raises(RuntimeError, match=r"install\(app\)"):
        client.get("/token", headers=mint.bearer())
    assert client.get("/public").status_code == 200
