"""The application factory.

``create_app(settings)`` builds everything the app needs; nothing is created at import
time, so tests can run many apps side by side.
"""

from __future__ import annotations

from fastapi import FastAPI

from twostep import __version__
from twostep.config import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build a twostep ASGI application for ``settings`` (read from the environment if None)."""
    settings = settings or Settings()
    app = FastAPI(title="twostep", version=__version__)
    app.state.settings = settings

    @app.get("/healthz", tags=["operations"])
    def healthz() -> dict[str, str]:
        """The process is up and serving."""
        return {"status": "ok"}

    return app
