"""A FastAPI app beside a twostep service: a public, a 2FA and an elevated route."""

from __future__ import annotations

from examples.protected_app.app import ExampleSettings, create_app

__all__ = ["ExampleSettings", "create_app"]
