"""Tokens minted by a real signer at a manual clock's time, for every integration test."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

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

    def bearer(self, *args: object, **kwargs: object) -> dict[str, str]:
        return {"Authorization": f"Bearer {self(*args, **kwargs)}"}  # type: ignore[arg-type]


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
