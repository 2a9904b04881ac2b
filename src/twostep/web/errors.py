"""Errors as HTTP answers: the one place that maps domain errors to status codes.

A database that is briefly unavailable or locked answers 503 with ``Retry-After``. A server
fault that is a domain error (a ciphertext the keyring cannot open, a mail server or OTP
provider that fails) answers 500 or 503 with a generic message; its detail is logged once,
server-side, and never sent to the client.
Every error body has the shape ``{"error": {"code": ..., "message": ...}}`` (plus ``field``
for validation errors, ``reason`` and ``attempts_left`` on a refused code, and ``Retry-After``
with ``locked`` on 429 when an account lockout refused it). Nothing a client sends can produce a
traceback: unexpected exceptions become a bare 500 with the same shape, logged server-side.
"""

from __future__ import annotations

import html
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.routing import iter_route_contexts
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from twostep import errors
from twostep.web.middleware import PAGE_CSP

log = logging.getLogger("twostep.web")

STATUS: dict[type[errors.TwostepError], int] = {
    errors.InvalidCredentials: 401,
    errors.InvalidCode: 401,
    errors.ChallengeExpired: 401,
    errors.Unauthenticated: 401,
    errors.TooManyAttempts: 429,
    errors.ElevationRequired: 403,
    errors.EnrollmentRequired: 403,
    errors.MissingClaim: 403,
    errors.Forbidden: 403,
    errors.InvalidInput: 422,
    errors.InvalidSecret: 422,
    errors.InvalidURI: 422,
    errors.InvalidParameter: 422,
    errors.NotFound: 404,
}

GENERIC = "Something went wrong on our side. Please try again later."
UNAVAILABLE = "A service twostep depends on is unavailable. Please try again later."
FAULTS: dict[type[errors.TwostepError], tuple[int, str, str]] = {
    errors.KeyringError: (500, "INTERNAL_ERROR", GENERIC),
    errors.ConfigurationError: (500, "INTERNAL_ERROR", GENERIC),
    errors.MailError: (503, "SERVICE_UNAVAILABLE", UNAVAILABLE),
    errors.ProviderError: (503, "SERVICE_UNAVAILABLE", UNAVAILABLE),
}
"""Domain errors that are the server's fault: status, code and the message clients see."""

HTTP_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHENTICATED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
}


def status_for(exc: errors.TwostepError) -> int:
    """The HTTP status of a domain error (the most specific class wins)."""
    found = fault_of(exc)
    if found is not None:
        return found[0]
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400


def fault_of(exc: errors.TwostepError) -> tuple[int, str, str] | None:
    """Status, code and public message when ``exc`` is a server fault; else ``None``."""
    for cls in type(exc).__mro__:
        if cls in FAULTS:
            return FAULTS[cls]
    return None


def report_fault(exc: errors.TwostepError, where: str) -> None:
    """Log a server fault once: its class and internal message (which hold no secret)."""
    log.error("server fault on %s: %s: %s", where, type(exc).__name__, exc.message)


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, **extra}}


def error_response(
    exc: errors.TwostepError, step_up_url: str | None = None, *, where: str = "the API"
) -> JSONResponse:
    """The JSON answer for a domain error (a server fault is logged, and answered generically)."""
    fault = fault_of(exc)
    if fault is not None:
        report_fault(exc, where)
        status, code, message = fault
        return JSONResponse(error_body(code, message), status)
    status = status_for(exc)
    extra: dict[str, Any] = {}
    headers: dict[str, str] = {}
    if isinstance(exc, errors.InvalidInput):
        extra["field"] = exc.field
    if isinstance(exc, errors.InvalidCode):
        if exc.reason is not None:
            extra["reason"] = exc.reason
        if exc.attempts_left is not None:
            extra["attempts_left"] = exc.attempts_left
    if isinstance(exc, errors.TooManyAttempts):
        extra["retry_after"] = exc.retry_after
        if exc.locked:
            extra["locked"] = True
        headers["Retry-After"] = str(exc.retry_after)
    if isinstance(exc, errors.ElevationRequired) and step_up_url:
        extra["step_up_url"] = step_up_url
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return JSONResponse(error_body(exc.code, exc.message, **extra), status, headers=headers)


def _wants_page(request: Request) -> bool:
    """A browser asking for a page (not the API) gets an HTML error page."""
    path = request.url.path
    accept = request.headers.get("accept", "")
    return not path.startswith(("/api/", "/.well-known/")) and "text/html" in accept


PAGE_TITLES = {404: "Page not found", 405: "Not allowed here"}


def _error_page(status: int, message: str) -> HTMLResponse:
    title = PAGE_TITLES.get(status, "Something went wrong")
    body = (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<title>{title} · twostep</title><link rel="stylesheet" href="/static/twostep.css">'
        '</head><body><main class="narrow"><section class="card">'
        f"<h1>{title}</h1><p>{html.escape(message)}</p>"
        '<p><a class="btn btn-primary" href="/">Go to the start page</a></p>'
        "</section></main></body></html>"
    )
    headers = {"content-security-policy": PAGE_CSP, "cache-control": "no-store"}
    return HTMLResponse(body, status, headers=headers)


def _page_for(request: Request, status: int, message: str) -> Response:
    """The site's own error page (header, navigation for a signed-in viewer, a next step);
    the bare page when the app serves no pages."""
    pages = getattr(request.app.state, "pages", None)
    if pages is None:
        return _error_page(status, message)
    from twostep.web.pages.viewer import viewer  # here: the pages import this module

    title = PAGE_TITLES.get(status, "Something went wrong")
    values = {"title": title, "status": status, "message": message}
    rendered: Response = pages.render(
        request, "404.html", values, status=status, principal=viewer(request)
    )
    return rendered


def allowed_methods(request: Request) -> str:
    """Every method some route serves at this path, for the ``Allow`` header of a 405.

    Starlette names only the first route that matched the path, so a path served by two
    routes (``PATCH`` and ``DELETE`` of one device) would advertise one method. A literal
    segment (``/me/sessions/revoke-others``) is its own resource: the routes with a
    parameter in its place (``/me/sessions/{session_id}``) do not count for it.
    """
    path = request.scope.get("path", "")
    matched = [
        route
        for route in iter_route_contexts(request.app.routes)
        if route.methods and route.path and route.path_regex.match(path)
    ]
    literal = [route for route in matched if "{" not in (route.path or "")]
    methods = {method for route in literal or matched for method in route.methods or ()}
    return ", ".join(sorted(methods))


def install(app: FastAPI) -> None:
    """Register the handlers that give every error its shape."""

    async def domain(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, errors.TwostepError)  # noqa: S101 - registered for this type
        where = f"{request.method} {request.url.path}"
        return error_response(exc, step_up_url="/api/v1/auth/elevate", where=where)

    async def validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)  # noqa: S101
        first = exc.errors()[0] if exc.errors() else {}
        location = [str(part) for part in first.get("loc", ()) if part not in ("body", "query")]
        field = ".".join(location) or "body"
        reason = str(first.get("msg", "is invalid"))
        message = f"{field}: {reason}" if location else f"The request body is invalid: {reason}"
        return JSONResponse(error_body("VALIDATION_ERROR", message, field=field), 422)

    async def http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)  # noqa: S101
        code = HTTP_CODES.get(exc.status_code, "ERROR")
        message = exc.detail if isinstance(exc.detail, str) else "The request failed."
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = allowed_methods(request)
        if _wants_page(request):
            page = _page_for(request, exc.status_code, message)
            page.headers.update(headers)
            return page
        return JSONResponse(error_body(code, message), exc.status_code, headers=headers)

    async def database_busy(request: Request, exc: Exception) -> JSONResponse:
        log.warning("database unavailable on %s %s: %s", request.method, request.url.path,
                    type(exc).__name__)  # fmt: skip
        body = error_body("SERVICE_UNAVAILABLE", "The service is busy. Please try again.")
        return JSONResponse(body, 503, headers={"Retry-After": "1"})

    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse(error_body("INTERNAL_ERROR", "Something went wrong."), 500)

    app.add_exception_handler(errors.TwostepError, domain)
    app.add_exception_handler(RequestValidationError, validation)
    app.add_exception_handler(StarletteHTTPException, http)
    app.add_exception_handler(OperationalError, database_busy)
    app.add_exception_handler(Exception, unexpected)
