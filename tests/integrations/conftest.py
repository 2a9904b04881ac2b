"""Tokens minted by a real signer at a manual clock's time, and a JWKS served in-process."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from twostep.clock import ManualClock
from twostep.security import Keyring, TokenSigner, TokenVerifier

ISS = "https://auth.example.test"
AUD = "twostep"
STEP_UP = "https://auth.example.test/account/step-up"
T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


class Mint:
    """Signs access tokens as the twostep service would, at the clock's current time."""

    def __init__(self, signer: TokenSigner, clock: ManualClock) -> None:
        self.signer, self.clock = signer, clock

    def __call__(
        self,
        amr: Sequence[str] = ("pwd", "otp"),
        *,
        elevated_for: int | None = None,
        auth_age: int = 0,
        role: str | None = None,
        signer: TokenSigner | None = None,
    ) -> str:
        now = self.clock.now()
        elevated = None if elevated_for is None else now + timedelta(seconds=elevated_for)
        return (
            (signer or self.signer)
            .issue(
                subject="user-42",
                session_id="session-7",
                amr=amr,
                auth_time=now - timedelta(seconds=auth_age),
                now=now,
                elevated_until=elevated,
                role=role,
            )
            .token
        )

    def bearer(self, amr: Sequence[str] = ("pwd", "otp"), **kwargs: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {self(amr, **kwargs)}"}


class JWKSServer:
    """A tiny in-process app serving a JWKS document the test can change, counting requests."""

    def __init__(self, jwks: dict[str, Any]) -> None:
        self.jwks: dict[str, Any] | None = jwks
        self.hits = 0
        self.release: threading.Event | None = None
        self.entered = threading.Event()

        async def serve(request: Request) -> JSONResponse:
            self.hits += 1
            if self.jwks is None:
                return JSONResponse({"error": "down"}, status_code=503)
            return JSONResponse(self.jwks)

        self.client = TestClient(Starlette(routes=[Route("/.well-known/jwks.json", serve)]))

    def fetch(self) -> dict[str, Any]:
        self.entered.set()
        if self.release is not None:
            assert self.release.wait(10)
        response = self.client.get("/.well-known/jwks.json")
        if response.status_code != 200:
            raise OSError(f"HTTP {response.status_code}")
        document: dict[str, Any] = response.json()
        return document


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture(scope="session")
def ring() -> Keyring:
    return Keyring.generate(signing=True)


@pytest.fixture
def signer(ring: Keyring) -> TokenSigner:
    return TokenSigner.ed25519(ring, issuer=ISS, audience=AUD)


@pytest.fixture
def verifier(signer: TokenSigner) -> TokenVerifier:
    return signer.verifier()


@pytest.fixture
def mint(signer: TokenSigner, clock: ManualClock) -> Mint:
    return Mint(signer, clock)
