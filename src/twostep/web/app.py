"""The application factory.

``create_app(settings)`` builds everything the app needs; nothing is created at import
time, so tests can run many apps side by side. On start-up the database is prepared
(migrated in development, checked in production).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import text

from twostep import __version__
from twostep.config import Settings
from twostep.services.context import Context, build_context
from twostep.services.operations import prepare_database
from twostep.store import migrate


def create_app(settings: Settings | None = None, *, context: Context | None = None) -> FastAPI:
    """Build a twostep ASGI application for ``settings`` (read from the environment if None)."""
    settings = settings or Settings()
    ctx = context or build_context(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        prepare_database(settings, ctx.db)
        yield
        ctx.db.dispose()

    app = FastAPI(title="twostep", version=__version__, lifespan=lifespan)
    app.state.settings = settings
    app.state.context = ctx

    @app.get("/healthz", tags=["operations"])
    def healthz() -> dict[str, str]:
        """The process is up and serving."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["operations"])
    def readyz() -> JSONResponse:
        """The database answers and its schema is current."""
        try:
            with ctx.db.transaction(readonly=True) as tx:
                tx.execute(text("SELECT 1"))
            current = migrate.is_current(ctx.db)
        except Exception:  # noqa: BLE001 - any database failure means "not ready"
            return JSONResponse({"status": "unavailable", "database": "unreachable"}, 503)
        if not current:
            return JSONResponse({"status": "unavailable", "database": "schema behind"}, 503)
        return JSONResponse({"status": "ok"})

    return app
