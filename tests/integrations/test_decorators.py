from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.integrations.conftest import STEP_UP, Mint
from tests.integrations.contract import AdapterContract, refused
from twostep.clock import ManualClock
from twostep.integrations.decorators import (
    guarded,
    require_claim,
    require_elevated_claim,
    require_elevated_session,
)
from twostep.integrations.fastapi import TwostepAuth
from twostep.integrations.policy import Rule
from twostep.security import TokenVerifier


def sub(request: Request) -> dict[str, str]:
    return {"sub": request.state.twostep.sub}


def fastapi_app() -> FastAPI:
    app = FastAPI()

    @app.get("/public")
    def public() -> dict[str, bool]:
        return {"ok": True}

    @app.get("/token")
    @guarded(Rule("token"))
    def token(request: Request) -> dict[str, str]:
        return sub(request)

    @app.get("/2fa")
    @guarded(Rule("2fa"))
    async def two_factor(request: Request) -> dict[str, str]:
        return sub(request)

    @app.get("/elevated")
    @require_elevated_session
    async def elevated(request: Request) -> dict[str, str]:
        return sub(request)

    @app.get("/admin")
    @require_claim("role", "admin")
    def admin(request: Request) -> dict[str, str]:
        return sub(request)

    @app.get("/items/{item_id}")
    @require_elevated_claim("role", "admin")
    def item(item_id: int, request: Request, q: str | None = None) -> dict[str, Any]:
        return {"item_id": item_id, "q": q, **sub(request)}

    @app.get("/no-request")
    @require_elevated_session
    def no_request() -> dict[str, bool]:
        return {"ok": True}

    return app


def as_json(handler: Any) -> Any:
    """A Starlette endpoint returning the dict ``handler`` builds."""

    async def endpoint(request: Request) -> JSONResponse:
        return JSONResponse(sub(request))

    return handler(endpoint)


async def public(request: Request) -> JSONResponse:
    return JSONResponse({"ok": True})


@require_elevated_session
def sync_elevated(request: Request) -> JSONResponse:
    return JSONResponse(sub(request))


def starlette_app() -> Starlette:
    return Starlette(
        routes=[
            Route("/public", public),
            Route("/token", as_json(guarded(Rule("token")))),
            Route("/2fa", as_json(guarded(Rule("2fa")))),
            Route("/elevated", sync_elevated),
            Route("/admin", as_json(require_claim("role", "admin"))),
        ]
    )


class TestDecoratorsOnFastAPI(AdapterContract):
    @pytest.fixture
    def client(self, verifier: TokenVerifier, clock: ManualClock) -> TestClient:
        app = fastapi_app()
        TwostepAuth(verifier, step_up_url=STEP_UP, clock=clock).install(app)
        return TestClient(app)

    def test_fastapi_still_sees_every_parameter(self, client: TestClient, mint: Mint) -> None:
        headers = mint.bearer(role="admin", elevated_for=60)
        response = client.get("/items/5?q=x", headers=headers)
        assert response.json() == {"item_id": 5, "q": "x", "sub": "user-42"}
        assert client.get("/items/five", headers=headers).status_code == 422
        params = client.get("/openapi.json").json()["paths"]["/items/{item_id}"]["get"][
            "parameters"
        ]
        assert [p["name"] for p in params] == ["item_id", "q"]

    def test_elevated_claim_needs_both(self, client: TestClient, mint: Mint) -> None:
        refused(
            client.get("/items/1", headers=mint.bearer(role="admin")), 403, "ELEVATION_REQUIRED"
        )
        not_admin = mint.bearer(role="user", elevated_for=60)
        refused(client.get("/items/1", headers=not_admin), 403, "MISSING_CLAIM")

    def test_a_handler_without_a_request_is_a_programming_error(
        self, client: TestClient, mint: Mint
    ) -> None:
        with pytest.raises(TypeError, match="must take a Request"):
            client.get("/no-request", headers=mint.bearer(elevated_for=60))


class TestDecoratorsOnStarlette(AdapterContract):
    @pytest.fixture
    def client(self, verifier: TokenVerifier, clock: ManualClock) -> TestClient:
        app = starlette_app()
        TwostepAuth(verifier, step_up_url=STEP_UP, clock=clock).install(app)
        return TestClient(app)


def test_without_a_guard_the_decorator_refuses_to_guess(mint: Mint) -> None:
    client = TestClient(starlette_app())
    with pytest.raises(RuntimeError, match="not set up"):
        client.get("/elevated", headers=mint.bearer(elevated_for=60))
