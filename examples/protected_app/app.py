"""A small app protected by twostep: one public route, one needing 2FA, one needing elevation.

It verifies twostep's access tokens offline with the service's public keys (JWKS) and never
talks to twostep's database. Run it beside a twostep service::

    TWOSTEP_URL=https://auth.example.com uvicorn --factory examples.protected_app.app:create_app

Nothing is built at import time: ``create_app`` reads the settings and wires the verifier.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from fastapi import APIRouter, FastAPI

from twostep.clock import Clock
from twostep.integrations import JWKSClient
from twostep.integrations.fastapi import ElevatedUser, TwoFactorUser, TwostepAuth
from twostep.security import KeySource, TokenVerifier


@dataclass(frozen=True, slots=True)
class ExampleSettings:
    """Where twostep lives, and what its tokens say about themselves."""

    twostep_url: str
    audience: str = "twostep"
    issuer: str | None = None  # twostep uses its public URL as the issuer
    step_up_url: str | None = None  # where the browser goes to confirm a code

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> ExampleSettings:
        """Read ``TWOSTEP_URL`` (required) and the optional ``TWOSTEP_AUDIENCE``,
        ``TWOSTEP_ISSUER`` and ``TWOSTEP_STEP_UP_URL``."""
        url = environ.get("TWOSTEP_URL", "").rstrip("/")
        if not url:
            raise RuntimeError(
                "set TWOSTEP_URL to the twostep service, e.g. https://auth.example.com"
            )
        return cls(
            twostep_url=url,
            audience=environ.get("TWOSTEP_AUDIENCE", "twostep"),
            issuer=environ.get("TWOSTEP_ISSUER"),
            step_up_url=environ.get("TWOSTEP_STEP_UP_URL"),
        )

    @property
    def jwks_url(self) -> str:
        return f"{self.twostep_url.rstrip('/')}/.well-known/jwks.json"


router = APIRouter()


@router.get("/")
def home() -> dict[str, str]:
    """Anyone may read this."""
    return {"message": "Hello from an app protected by twostep."}


@router.get("/dashboard")
def dashboard(user: TwoFactorUser) -> dict[str, str]:
    """Needs a sign-in that used a second factor."""
    return {"user": user.sub, "signed_in_with": " + ".join(user.amr)}


@router.post("/settings/danger")
def dangerous_change(user: ElevatedUser) -> dict[str, str | int | None]:
    """Needs a session stepped up with a fresh code (403 ``ELEVATION_REQUIRED`` otherwise)."""
    return {"user": user.sub, "changed": "yes", "elevated_until": user.elevated_until}


def create_app(
    settings: ExampleSettings | None = None,
    *,
    keys: KeySource | None = None,
    clock: Clock | None = None,
) -> FastAPI:
    """The example app. ``keys`` and ``clock`` let tests point it at an in-process twostep."""
    settings = settings or ExampleSettings.from_env()
    verifier = TokenVerifier(
        keys or JWKSClient(settings.jwks_url),
        issuer=settings.issuer or settings.twostep_url.rstrip("/"),
        audience=settings.audience,
    )
    step_up = settings.step_up_url or f"{settings.twostep_url.rstrip('/')}/account/step-up"
    app = FastAPI(title="An app protected by twostep")
    TwostepAuth(verifier, step_up_url=step_up, clock=clock).install(app)
    app.include_router(router)
    return app
