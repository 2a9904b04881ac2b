"""The application factory.

``create_app(settings)`` builds everything the app needs; nothing is created at import
time, so tests can run many apps side by side. On start-up the database is prepared
(migrated in development, checked in production).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.responses import Response

from twostep import __version__
from twostep.config import Settings, load_settings
from twostep.errors import Unauthenticated
from twostep.services import maintenance
from twostep.services.access import AccessRules, load_rules
from twostep.services.context import Context, MailQueue, build_context
from twostep.services.operations import prepare_database
from twostep.web import errors, schemas
from twostep.web.api import account, admin, auth, forward_auth, twofa, webauthn, wellknown
from twostep.web.client_ip import parse_networks
from twostep.web.deps import WebState
from twostep.web.docs import install_docs
from twostep.web.health import Liveness, install_health
from twostep.web.metrics import Metrics, ObserveRequests, scrape_allowed
from twostep.web.middleware import BodyLimit, SecurityHeaders
from twostep.web.pages import install_pages
from twostep.web.pages.admin import install_admin_pages
from twostep.web.ratelimit import RateLimits
from twostep.web.sso_cookie import SsoCookie
from twostep.web.tokens import TokenService

ERROR_RESPONSES: dict[int | str, dict[str, object]] = {
    status: {"model": schemas.ErrorResponse, "description": description}
    for status, description in [
        (401, "Not signed in, or a wrong credential or code"),
        (403, "Elevation, enrollment or a role is required"),
        (404, "Not found"),
        (422, "Invalid input"),
        (429, "Too many attempts; see Retry-After"),
    ]
}


log = logging.getLogger("twostep.web")

PURGE_EVERY = 300.0
"""Seconds between two purges of expired rows (see :mod:`twostep.services.maintenance`)."""


async def purge_periodically(
    ctx: Context,
    *,
    every: float = PURGE_EVERY,
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
) -> None:
    """Purge expired rows every ``every`` seconds until cancelled, off the event loop.

    A failed round is logged and the next one tried; the purge never stops the server.
    """
    while True:
        await sleep(every)
        try:
            await anyio.to_thread.run_sync(maintenance.purge_if_free, ctx)
        except Exception as exc:  # a database hiccup must not end the loop
            log.warning("purge failed: %s", type(exc).__name__)


def create_app(
    settings: Settings | None = None,
    *,
    context: Context | None = None,
    purge_every: float | None = PURGE_EVERY,
) -> FastAPI:
    """Build a twostep ASGI application for ``settings`` (read from the environment if None).

    ``purge_every`` seconds between purges of expired rows; ``None`` turns them off.
    """
    settings = settings or load_settings()
    ctx = context or build_context(settings)
    metrics = Metrics()
    # The mailer is looked up per message (tests swap it); failures are retried and counted.
    mail_queue = MailQueue(lambda message: ctx.mailer.send(message), observe=metrics.mail_failure)
    if context is None:  # an injected context keeps its own choice (tests read mail at once)
        ctx.mail_queue = mail_queue
    state = WebState(
        ctx=ctx,
        tokens=TokenService(ctx, settings),
        limits=RateLimits(settings),
        metrics=metrics,
        trusted_proxies=parse_networks(settings.trusted_proxies),
        access_rules=load_rules(settings.access_rules) if settings.access_rules else AccessRules(),
        sso_cookie=SsoCookie.for_settings(settings),
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Requests' database work runs in as many threads as the pool has connections: more
        # would only queue for a connection (or open and close extra ones) and fight for the GIL.
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.threads
        prepare_database(settings, ctx.db)
        purger = None
        if purge_every is not None:
            purger = asyncio.create_task(purge_periodically(ctx, every=purge_every))
        yield
        if purger is not None:
            purger.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await purger
        mail_queue.close()
        state.limits.close()
        ctx.db.dispose()

    app = FastAPI(
        title="twostep",
        version=__version__,
        description="Self-hostable TOTP two-factor authentication.",
        lifespan=lifespan,
        docs_url=None,  # served from the package by install_docs: no CDN
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.twostep = state
    errors.install(app)

    # Each API router hangs off the app itself: FastAPI matches an included router by
    # scanning its routes, and again to dispatch, so every level of nesting scans them more.
    for module in (auth, twofa, webauthn, account, admin, forward_auth, wellknown):
        app.include_router(module.router, prefix="/api/v1", responses=ERROR_RESPONSES)
    app.include_router(wellknown.router, include_in_schema=False)
    install_health(app, ctx, settings)  # probes match before the pages' routes are tried
    install_docs(app)
    install_pages(app, state)
    install_admin_pages(app)

    @app.get("/metrics", tags=["operations"], include_in_schema=False)
    def prometheus(request: Request) -> Response:
        """Prometheus text exposition (a bearer token when ``metrics_token`` is set)."""
        if not scrape_allowed(request.headers.get("authorization"), settings.metrics_token):
            raise Unauthenticated()
        return Response(metrics.render(), media_type="text/plain; version=0.0.4")

    app.add_middleware(ObserveRequests, metrics=metrics)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(SecurityHeaders, hsts=not settings.is_development)
    app.add_middleware(Liveness, hsts=not settings.is_development)  # outermost: probes first
    return app
