from __future__ import annotations

from collections.abc import Mapping, Sequence

import pytest
from fastapi.testclient import TestClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from tests.integrations.conftest import STEP_UP, Mint
from tests.integrations.contract import AdapterContract, refused
from twostep.clock import ManualClock
from twostep.integrations.asgi import TwostepMiddleware
from twostep.integrations.decorators import require_claim
from twostep.integrations.policy import Requirement
from twostep.security import AccessClaims, TokenVerifier


async def ok(request: Request) -> JSONResponse:
    return JSONResponse({"ok": True})


async def whoami(request: Request) -> JSONResponse:
    claims = request.state.twostep
    assert isinstance(claims, AccessClaims)
    return JSONResponse({"sub": claims.sub})


@require_claim("role", "admin")
async def admin(request: Request) -> JSONResponse:
    return await whoami(request)


async def echo(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_json({"sub": websocket.state.twostep.sub})
    await websocket.close()


ROUTES = [
    Route(path, endpoint)
    for path, endpoint in [
        ("/public", ok), ("/token", whoami), ("/2fa", whoami), ("/2fa/deeper", whoami),
        ("/elevated", whoami), ("/elevated/x", whoami), ("/admin", admin),
        ("/administrator", ok), ("/api/open", ok), ("/api/terminal/run", whoami),
    ]
] + [WebSocketRoute("/2fa/ws", echo)]  # fmt: skip


def app_with(
    verifier: TokenVerifier,
    clock: ManualClock,
    protected: Mapping[str, Requirement] | Sequence[str],
) -> TestClient:
    app = TwostepMiddleware(
        Starlette(routes=ROUTES), verifier=verifier, protected_paths=protected,
        step_up_url=STEP_UP, clock=clock,
    )  # fmt: skip
    return TestClient(app)


class TestMiddleware(AdapterContract):
    @pytest.fixture
    def client(self, verifier: TokenVerifier, clock: ManualClock) -> TestClient:
        protected: dict[str, Requirement] = {
            "/token": "token", "/2fa/": "2fa", "/elevated": "elevated", "/admin": "token",
        }  # fmt: skip
        return app_with(verifier, clock, protected)

    def test_a_prefix_covers_its_subtree_on_segment_boundaries(
        self, client: TestClient, mint: Mint
    ) -> None:
        refused(client.get("/2fa/deeper"), 401, "UNAUTHENTICATED")
        refused(client.get("/elevated/x", headers=mint.bearer()), 403, "ELEVATION_REQUIRED")
        assert client.get("/administrator").json() == {"ok": True}

    def test_encoded_paths_are_matched_as_routed(self, client: TestClient) -> None:
        refused(client.get("/%32fa"), 401, "UNAUTHENTICATED")
        refused(client.get("/elevated%2Fx"), 401, "UNAUTHENTICATED")

    def test_websocket_is_refused_without_a_token(self, client: TestClient) -> None:
        with pytest.raises(WebSocketDisconnect) as closed, client.websocket_connect("/2fa/ws"):
            pass
        assert closed.value.code == 1008

    def test_websocket_with_a_good_token_gets_claims(self, client: TestClient, mint: Mint) -> None:
        with client.websocket_connect("/2fa/ws", headers=mint.bearer()) as ws:
            assert ws.receive_json() == {"sub": "user-42"}


def test_a_list_of_prefixes_requires_2fa(
    verifier: TokenVerifier, clock: ManualClock, mint: Mint
) -> None:
    client = app_with(verifier, clock, ["/api/terminal/"])
    assert client.get("/api/open").status_code == 200
    refused(
        client.get("/api/terminal/run", headers=mint.bearer(["pwd"])), 403, "ELEVATION_REQUIRED"
    )
    assert client.get("/api/terminal/run", headers=mint.bearer()).json() == {"sub": "user-42"}


def test_the_longest_prefix_decides(
    verifier: TokenVerifier, clock: ManualClock, mint: Mint
) -> None:
    client = app_with(verifier, clock, {"/": "token", "/api/terminal": "elevated"})
    assert client.get("/api/open", headers=mint.bearer(["pwd"])).status_code == 200
    refused(client.get("/public"), 401, "UNAUTHENTICATED")
    refused(client.get("/api/terminal/run", headers=mint.bearer()), 403, "ELEVATION_REQUIRED")
    headers = mint.bearer(elevated_for=60)
    assert client.get("/api/terminal/run", headers=headers).status_code == 200


def test_lifespan_passes_through(verifier: TokenVerifier, clock: ManualClock) -> None:
    with app_with(verifier, clock, ["/"]) as client:
        refused(client.get("/public"), 401, "UNAUTHENTICATED")


@pytest.mark.parametrize("paths", [["api/"], "/api/"])
def test_bad_configuration_is_refused(verifier: TokenVerifier, paths: Sequence[str]) -> None:
    with pytest.raises((ValueError, TypeError)):
        TwostepMiddleware(Starlette(), verifier=verifier, protected_paths=paths)
