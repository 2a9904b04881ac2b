"""``/healthz`` (the process is up) and ``/readyz`` (what it depends on answers).

``GET /healthz`` is answered by :class:`Liveness`, the outermost layer of the app, before
routing, dependencies and the request log: a liveness probe asks whether the process serves
at all, and load balancers ask it several times a second, so it costs next to nothing. Its
answer carries the same security headers as every other response. Probes are neither logged
nor counted in the request metrics.

``/readyz`` answers 503 when the database is unreachable or its schema is behind, or when a
configured Redis (shared rate limits) does not answer: this node should get no traffic.
An unreachable SMTP server is a *warning* only (200, listed under ``warnings``): mail is
retried from the queue, and sign-ins still work. The SMTP probe's answer is kept for
``SMTP_PROBE_SECONDS`` so frequent probes do not hammer the mail server.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from twostep.config import Settings
from twostep.mail import SMTPMailer
from twostep.services import operations
from twostep.services.context import Context
from twostep.web.middleware import security_headers

SMTP_PROBE_SECONDS = 30.0
LIVE = b'{"status":"ok"}'


class Liveness:
    """Answer ``GET /healthz`` at once; hand every other request to the app."""

    def __init__(self, app: ASGIApp, *, hsts: bool) -> None:
        self.app = app
        self.start = {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(LIVE)).encode()),
                *security_headers("/healthz", hsts=hsts),
            ],
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/healthz" and scope["method"] == "GET":
            await send(self.start)
            await send({"type": "http.response.body", "body": LIVE})
            return
        await self.app(scope, receive, send)


def redis_probe(url: str, *, timeout: float = 1.0) -> Callable[[], bool]:
    """A check that the Redis server at ``url`` answers ``PING``."""
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)

    def ping() -> bool:
        try:
            return bool(client.ping())
        except (redis.RedisError, OSError):
            return False

    return ping


class CachedProbe:
    """A slow check whose answer is reused for ``ttl`` seconds."""

    def __init__(
        self, check: Callable[[], bool], ttl: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._check = check
        self._ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._answer: tuple[float, bool] | None = None

    def __call__(self) -> bool:
        with self._lock:
            if self._answer is not None and self._clock() - self._answer[0] < self._ttl:
                return self._answer[1]
        answer = self._check()
        with self._lock:
            self._answer = (self._clock(), answer)
        return answer


def install_health(app: FastAPI, ctx: Context, settings: Settings) -> None:
    """Add ``/healthz`` and ``/readyz`` to ``app``."""
    redis_ok = redis_probe(settings.redis_url) if settings.redis_url else None

    def smtp_check() -> bool:
        mailer = ctx.mailer  # looked up each time: tests and reloads may swap it
        return mailer.ping() if isinstance(mailer, SMTPMailer) else True

    smtp_ok = CachedProbe(smtp_check, SMTP_PROBE_SECONDS) if settings.smtp_url else None

    @app.get("/healthz", tags=["operations"])
    async def healthz() -> dict[str, str]:
        """The process is up and serving (answered by :class:`Liveness` before routing)."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["operations"])
    def readyz() -> JSONResponse:
        """The database answers with a current schema; Redis and SMTP when configured.

        ``status`` is ``ok`` or ``unavailable`` (503); each dependency reads ``ok``,
        ``unreachable`` or, for the database, ``schema behind``. SMTP never fails the
        probe: an unreachable mail server is listed under ``warnings``.
        """
        body: dict[str, object] = {"status": "ok"}
        ready = True
        body["database"] = operations.database_state(ctx.db)
        ready = body["database"] == "ok"
        if redis_ok is not None:
            body["redis"] = "ok" if redis_ok() else "unreachable"
            ready = ready and body["redis"] == "ok"
        if smtp_ok is not None:
            body["smtp"] = "ok" if smtp_ok() else "unreachable"
            if body["smtp"] != "ok":
                body["warnings"] = ["smtp: the mail server does not answer; mail is retried"]
        if not ready:
            body["status"] = "unavailable"
        return JSONResponse(body, 200 if ready else 503)
