from __future__ import annotations

import base64
import http.server
import json
import threading
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.integrations.conftest import AUD, ISS, JWKSServer, Mint
from tests.integrations.contract import refused
from twostep.clock import ManualClock
from twostep.errors import InvalidToken
from twostep.integrations import IntrospectionClient, JWKSClient, TwostepUnavailable
from twostep.integrations.asgi import TwostepMiddleware
from twostep.security import Keyring, TokenSigner, TokenVerifier

JWKS_URL = "http://twostep.test/.well-known/jwks.json"


@pytest.fixture
def server(signer: TokenSigner) -> JWKSServer:
    return JWKSServer(signer.jwks())


@pytest.fixture
def jwks(server: JWKSServer, clock: ManualClock) -> JWKSClient:
    return JWKSClient(
        JWKS_URL, cache_seconds=300, refresh_interval=30, fetch=server.fetch,
        clock=lambda: clock.now().timestamp(),
    )  # fmt: skip


def verifier_for(jwks: JWKSClient) -> TokenVerifier:
    return TokenVerifier(jwks, issuer=ISS, audience=AUD)


def test_verifies_through_the_jwks_and_caches_it(
    jwks: JWKSClient, server: JWKSServer, mint: Mint, clock: ManualClock
) -> None:
    verifier = verifier_for(jwks)
    now = clock.now().timestamp()
    for _ in range(20):
        assert verifier.verify(mint(), now=now).sub == "user-42"
    assert server.hits == 1
    clock.advance(299)
    verifier.verify(mint(), now=clock.now().timestamp())
    assert server.hits == 1
    clock.advance(1)
    verifier.verify(mint(), now=clock.now().timestamp())
    assert server.hits == 2


def test_an_unknown_kid_refreshes_the_keys(
    jwks: JWKSClient, server: JWKSServer, mint: Mint, ring: Keyring, clock: ManualClock
) -> None:
    verifier = verifier_for(jwks)
    now = clock.now().timestamp()
    old_token = mint()
    assert verifier.verify(old_token, now=now).sub == "user-42"
    rotated = TokenSigner.ed25519(ring.rotated(), issuer=ISS, audience=AUD)
    server.jwks = rotated.jwks()
    clock.advance(30)
    now = clock.now().timestamp()
    assert verifier.verify(mint(signer=rotated), now=now).sub == "user-42"
    assert server.hits == 2
    assert verifier.verify(old_token, now=now).sub == "user-42"  # still published
    assert server.hits == 2


def test_bogus_kids_cannot_hammer_the_server(
    jwks: JWKSClient, server: JWKSServer, clock: ManualClock
) -> None:
    assert jwks.get_key("first-contact") is None
    assert server.hits == 1
    for index in range(100):
        assert jwks.get_key(f"bogus-{index}") is None
    assert server.hits == 1
    clock.advance(29)
    assert jwks.get_key("bogus-again") is None
    assert server.hits == 1
    clock.advance(1)
    assert jwks.get_key("bogus-again") is None
    assert server.hits == 2


def test_no_kid_never_fetches(jwks: JWKSClient, server: JWKSServer) -> None:
    assert jwks.get_key(None) is None
    assert server.hits == 0


def test_known_keys_survive_an_outage(
    jwks: JWKSClient, server: JWKSServer, mint: Mint, clock: ManualClock
) -> None:
    verifier = verifier_for(jwks)
    token = mint()
    verifier.verify(token, now=clock.now().timestamp())
    server.jwks = None
    clock.advance(301)
    for _ in range(10):
        assert verifier.verify(token, now=clock.now().timestamp()).sub == "user-42"
    assert server.hits == 2  # one failed refresh, then the interval holds further tries back
    assert jwks.last_error is not None and "503" in jwks.last_error
    clock.advance(30)
    verifier.verify(token, now=clock.now().timestamp())
    assert server.hits == 3


def test_no_keys_at_all_is_unavailable_not_invalid(
    jwks: JWKSClient, server: JWKSServer, mint: Mint, clock: ManualClock
) -> None:
    server.jwks = None
    verifier = verifier_for(jwks)
    for _ in range(3):
        with pytest.raises(TwostepUnavailable, match="cannot fetch signing keys"):
            verifier.verify(mint(), now=clock.now().timestamp())
    assert server.hits == 1


def test_a_jwks_with_a_private_key_is_refused(
    jwks: JWKSClient, server: JWKSServer, ring: Keyring
) -> None:
    assert server.jwks is not None
    server.jwks["keys"][0]["d"] = "AAAA"
    assert jwks.refresh() is False
    assert jwks.last_error is not None and "private key" in jwks.last_error


def test_one_fetch_for_many_threads_on_a_new_kid(
    jwks: JWKSClient, server: JWKSServer, ring: Keyring, mint: Mint
) -> None:
    rotated = TokenSigner.ed25519(ring.rotated(), issuer=ISS, audience=AUD)
    server.jwks, server.release = rotated.jwks(), threading.Event()
    results: list[object] = []
    threads = [
        threading.Thread(target=lambda: results.append(jwks.get_key(rotated.kid))) for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    assert server.entered.wait(10)
    server.release.set()
    for thread in threads:
        thread.join(10)
    assert server.hits == 1
    assert len(results) == 8 and all(key is not None for key in results)


def test_a_known_stale_key_does_not_wait_for_a_fetch(
    jwks: JWKSClient, server: JWKSServer, signer: TokenSigner, clock: ManualClock
) -> None:
    assert jwks.get_key(signer.kid) is not None
    clock.advance(300)
    server.release = threading.Event()
    fetching = threading.Thread(target=jwks.get_key, args=(signer.kid,))
    fetching.start()
    assert server.entered.wait(10)
    assert jwks.get_key(signer.kid) is not None  # the lock is held by the fetch: no waiting
    server.release.set()
    fetching.join(10)
    assert server.hits == 2


def test_urls_must_be_http() -> None:
    for url in ("file:///etc/passwd", "ftp://x/jwks.json", "jwks.json"):
        with pytest.raises(ValueError, match="http"):
            JWKSClient(url)


# --- over real HTTP, with the standard-library transport ----------------------------------


class Handler(http.server.BaseHTTPRequestHandler):
    jwks: dict[str, Any] = {"keys": []}

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path == "/.well-known/jwks.json":
            self.answer(200, json.dumps(self.jwks).encode())
        elif self.path == "/huge":
            self.answer(200, b" " * (1 << 20) + b"{}")
        else:
            self.answer(500, b"{}")

    def do_POST(self) -> None:
        form = urllib.parse.parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
        scheme, _, encoded = self.headers.get("Authorization", "").partition(" ")
        user, _, password = base64.b64decode(encoded).decode().partition(":")
        credentials = (urllib.parse.unquote_plus(user), urllib.parse.unquote_plus(password))
        if scheme != "Basic" or credentials != ("app:1", "s3cret&="):
            self.answer(401, b'{"error": "invalid_client"}')
            return
        active = form.get("token") == ["live-token"]
        self.answer(
            200,
            json.dumps(
                {"active": active, "sub": "user-42"} if active else {"active": False}
            ).encode(),
        )


@pytest.fixture(scope="module")
def origin() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def test_default_transport_fetches_over_http(
    origin: str, signer: TokenSigner, mint: Mint, clock: ManualClock
) -> None:
    Handler.jwks = signer.jwks()
    verifier = verifier_for(JWKSClient(f"{origin}/.well-known/jwks.json", timeout=5))
    assert verifier.verify(mint(), now=clock.now().timestamp()).sub == "user-42"


@pytest.mark.parametrize(("path", "error"), [("/broken", "HTTPError"), ("/huge", "larger than")])
def test_default_transport_failures_are_recorded(origin: str, path: str, error: str) -> None:
    client = JWKSClient(f"{origin}{path}")
    assert client.refresh() is False
    assert client.last_error is not None and error in client.last_error
    with pytest.raises(TwostepUnavailable):
        client.get_key("any")


def test_introspection_over_http(origin: str) -> None:
    client = IntrospectionClient(f"{origin}/introspect", "app:1", "s3cret&=")
    assert client.introspect("live-token") == {"active": True, "sub": "user-42"}
    assert client.introspect("dead-token") == {"active": False}
    assert "s3cret" not in repr(client)


def test_introspection_with_wrong_credentials_is_unavailable(origin: str) -> None:
    client = IntrospectionClient(f"{origin}/introspect", "app:1", "wrong")
    with pytest.raises(TwostepUnavailable, match="HTTPError"):
        client.introspect("live-token")


@pytest.mark.parametrize("answer", [{}, {"active": "yes"}, ["active"]])
def test_introspection_needs_an_active_flag(answer: Any) -> None:
    client = IntrospectionClient(
        "https://twostep.test/introspect", "app", "secret", post=lambda url, body, headers: answer
    )
    with pytest.raises(TwostepUnavailable, match="active"):
        client.introspect("t")


def test_invalid_tokens_stay_invalid_through_the_client(
    jwks: JWKSClient, clock: ManualClock
) -> None:
    with pytest.raises(InvalidToken):
        verifier_for(jwks).verify("not.a.token", now=clock.now().timestamp())


def test_adapters_answer_503_while_no_keys_can_be_fetched(
    jwks: JWKSClient, server: JWKSServer, mint: Mint, clock: ManualClock
) -> None:
    async def ok(request: Request) -> JSONResponse:
        return JSONResponse({"ok": True})

    server.jwks = None
    app = TwostepMiddleware(
        Starlette(routes=[Route("/x", ok)]), verifier=verifier_for(jwks), protected_paths=["/x"],
        clock=clock,
    )  # fmt: skip
    response = TestClient(app).get("/x", headers=mint.bearer())
    refused(response, 503, "TWOSTEP_UNAVAILABLE")
    assert response.headers["retry-after"] == "30"
