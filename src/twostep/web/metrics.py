"""Prometheus metrics: requests, latencies, second-factor verifications, lockouts.

Each app owns its registry, so several apps (tests, workers) never share counters by
accident. With several worker processes each reports its own figures; scrape them per worker
or run one worker per scrape target.

``/metrics`` is public unless ``TWOSTEP_METRICS_TOKEN`` is set; then a scraper must send it
as a bearer token (:func:`scrape_allowed`). Route names and counts say little, but they do
show traffic and lockout rates: set the token, or keep the path off the public proxy.
"""

from __future__ import annotations

import hmac
import logging
import time

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from pydantic import SecretStr
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class Metrics:
    """The counters one app exposes at ``/metrics``."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "twostep_http_requests",
            "HTTP requests by route and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "twostep_http_request_seconds",
            "HTTP request latency by route.",
            ["route"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
        )
        self.verifications = Counter(
            "twostep_verifications",
            "Second-factor verifications by flow and outcome.",
            ["flow", "outcome"],
            registry=self.registry,
        )
        self.lockouts = Counter(
            "twostep_lockouts", "Requests refused by a lockout or rate limit.", ["flow"],
            registry=self.registry,
        )  # fmt: skip
        self.mail_failures = Counter(
            "twostep_mail_failures",
            "Mail delivery failures by tag and outcome: retry (transient, tried again), "
            "failed (given up) or dropped (queue full or shutting down).",
            ["tag", "outcome"],
            registry=self.registry,
        )

    def mail_failure(self, tag: str, outcome: str) -> None:
        """Count one mail failure (the :class:`~twostep.services.context.MailQueue` hook)."""
        self.mail_failures.labels(tag, outcome).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)


class ObserveRequests:
    """Count, time and log every HTTP request.

    Metrics carry the route template (not the raw path, so ids don't multiply labels). The
    access log line (peer, method, path, status, milliseconds) leaves the query string out
    on purpose: reset and verification links carry their token there, and tokens never
    reach a log. (uvicorn's own access log is turned off.)
    """

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics
        self.log = logging.getLogger("twostep.access")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_record)
        finally:
            elapsed = time.perf_counter() - started
            path = route_template(scope)
            self.metrics.requests.labels(scope["method"], path, str(status)).inc()
            self.metrics.latency.labels(path).observe(elapsed)
            client = scope.get("client")
            self.log.info(
                '%s "%s %s" %d %.1fms',
                client[0] if client else "-", scope["method"], scope["path"], status,
                elapsed * 1000,
            )  # fmt: skip


def route_template(scope: Scope) -> str:
    """The matched route as a template (``/api/v1/2fa/devices/{device_id}``), so labels stay
    few however many ids are requested; ``unmatched`` for a 404 outside any route.

    FastAPI routes name themselves in ``scope["route"]``; plain Starlette routes (such as
    ``/openapi.json``) only leave their ``endpoint``, and a mount (``/static``) its prefix,
    labelled ``/static/{path}``.
    """
    if scope.get("route") is None:
        if "endpoint" not in scope:
            return "unmatched"
        if "app_root_path" in scope:  # inside a Mount: root_path grew by the mount's prefix
            prefix = str(scope.get("root_path", ""))[len(str(scope["app_root_path"])) :]
            return f"{prefix}/{{path}}"
    names = {str(value): name for name, value in (scope.get("path_params") or {}).items()}
    segments = str(scope["path"]).split("/")
    return "/".join(f"{{{names[s]}}}" if s in names else s for s in segments)


def scrape_allowed(authorization: str | None, token: SecretStr | None) -> bool:
    """Whether a request with this ``Authorization`` header may read ``/metrics``.

    Without a configured token everyone may. With one, the header must be ``Bearer <token>``,
    compared in constant time so the response time says nothing about how much was right.
    """
    if token is None:
        return True
    scheme, _, credentials = (authorization or "").partition(" ")
    presented = credentials.strip().encode()
    return scheme.lower() == "bearer" and hmac.compare_digest(
        presented, token.get_secret_value().encode()
    )
