"""Page routes never answer with JSON or a traceback: errors become pages or redirects.

:class:`PageRoute` is the ``route_class`` of every page router. It wraps each handler so
that whatever a route lets escape ends as a human page with the right status:

* :class:`PageRedirect` (sign in first, finish enrolling, confirm with a code) → a 303;
* :class:`~twostep.web.pages.csrf.CsrfRejected` → a 403 page;
* :class:`~twostep.errors.ElevationRequired` → the step-up page, returning to this page after
  (for a form, to the page at the address it posts to);
* :class:`~twostep.errors.VerificationRequired` → the page that confirms the address;
* any other domain error → a page with its message and status (``Retry-After`` on 429);
* malformed input (a field of the wrong type) → a 400 page; so is a control character such
  as NUL in a path, query or form field (PostgreSQL cannot store NUL, and no field needs one).

Routes still catch the errors they can explain in place (a wrong code next to the field);
this is the net underneath, and what an admin console gets for free with ``route_class``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response

from twostep import errors
from twostep.web.errors import fault_of, report_fault, status_for
from twostep.web.pages import humanize
from twostep.web.pages.csrf import CsrfRejected
from twostep.web.pages.rendering import Pages
from twostep.web.pages.viewer import viewer

DEFAULT_NEXT = "/account"
VERIFY_FIRST = "/verify-email?notice=verify-first"
"""Where an account whose address is not confirmed yet goes before enrolling a factor."""


class PageRedirect(Exception):
    """Leave this page for ``url`` (a 303)."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.url = url


def safe_next(value: str | None, default: str = DEFAULT_NEXT) -> str:
    """``value`` if it is a path on this site, else ``default``: no open redirects.

    Only relative paths starting with a single ``/`` pass; anything with a scheme, a host,
    a protocol-relative ``//``, a backslash (browsers read ``/\\`` as ``//``) or a control
    character is replaced.

    >>> safe_next("/account?tab=1"), safe_next("//evil.example"), safe_next("https://x.y/")
    ('/account?tab=1', '/account', '/account')
    """
    if not value or len(value) > 512 or not value.startswith("/"):
        return default
    if value.startswith("//") or "\\" in value or any(ord(c) < 33 for c in value):
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return default
    return value


def with_next(path: str, next_url: str | None) -> str:
    """``path?next=…`` when there is a (safe) place to return to."""
    target = safe_next(next_url, "")
    return f"{path}?next={quote(target, safe='/')}" if target else path


def step_up_url(next_url: str) -> str:
    return with_next("/step-up", next_url)


@dataclass(frozen=True, slots=True)
class Problem:
    """A domain error in the user's words, with the HTTP status it is answered with."""

    status: int
    message: str
    field: str | None = None
    retry_after: int | None = None

    @property
    def headers(self) -> dict[str, str]:
        return {"retry-after": str(self.retry_after)} if self.retry_after else {}


WRONG_CODE = "That code didn't work. Check your authenticator app and enter the current code."


def describe(exc: errors.TwostepError) -> Problem:
    """What to tell the user about ``exc`` (never whether an account exists)."""
    fault = fault_of(exc)
    if fault is not None:
        report_fault(exc, "a page")
        return Problem(fault[0], fault[2])
    status = status_for(exc)
    if isinstance(exc, errors.TooManyAttempts):
        wait = humanize.duration(exc.retry_after)
        message = f"Too many attempts. For your security, try again in {wait}."
        return Problem(429, message, retry_after=exc.retry_after)
    if isinstance(exc, errors.InvalidInput):
        return Problem(status, exc.message, field=exc.field)
    if isinstance(exc, errors.InvalidCode) and exc.message == exc.default_message:
        return Problem(status, WRONG_CODE, field="code")
    if isinstance(exc, errors.InvalidCode) and exc.reason is not None:
        return Problem(status, exc.message, field="code")
    return Problem(status, exc.message)


Endpoint = Callable[[Request], Coroutine[Any, Any, Response]]


class PageRoute(APIRoute):
    """An ``APIRoute`` whose errors are answered as pages (see the module docstring)."""

    def get_route_handler(self) -> Endpoint:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                await refuse_control_characters(request)
                return await handler(request)
            except Exception as exc:
                response = answer_error(request, exc)
                if response is None:
                    raise
                return response

        return page_handler


CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
"""Control characters no field may hold (tabs and line breaks are left to the handlers)."""
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


async def refuse_control_characters(request: Request) -> None:
    """Raise a validation error if a path, query or form field holds a control character.

    The form is parsed once here; the handler reads the same parsed form.
    """
    texts = [str(value) for value in request.path_params.values()]
    texts += [text for pair in request.query_params.multi_items() for text in pair]
    content_type = request.headers.get("content-type", "")
    if request.method == "POST" and content_type.startswith(FORM_TYPES):
        form = await request.form()
        texts += [text for pair in form.multi_items() for text in pair if isinstance(text, str)]
    if any(CONTROL.search(text) for text in texts):
        raise RequestValidationError(
            [{"type": "control_character", "loc": ("form",), "msg": "control character"}]
        )


def answer_error(request: Request, exc: Exception) -> Response | None:
    """The page or redirect for ``exc``; ``None`` when it is not one pages explain."""
    pages: Pages = request.app.state.pages
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if isinstance(exc, PageRedirect):
        return pages.redirect(exc.url)
    if isinstance(exc, CsrfRejected):
        message = (
            "This form has expired or was sent from another site. "
            "Go back, reload the page and try again."
        )
        return pages.render(
            request, "message.html", {"title": "Please try again", "error": message}, status=403,
            principal=viewer(request),
        )  # fmt: skip
    if isinstance(exc, errors.ElevationRequired):
        # A form posts to the address of the page that shows it: step up, then come back
        # to that page (a GET keeps its query too).
        target = here if request.method == "GET" else request.url.path
        return pages.redirect(step_up_url(target))
    if isinstance(exc, errors.EnrollmentRequired):
        return pages.redirect("/enroll")
    if isinstance(exc, errors.VerificationRequired):
        return pages.redirect(VERIFY_FIRST)
    if isinstance(exc, errors.Unauthenticated):
        return pages.redirect(with_next("/login", here if request.method == "GET" else None))
    if isinstance(exc, errors.TwostepError):
        problem = describe(exc)
        return pages.render(
            request,
            "message.html",
            {"title": "Something needs your attention", "error": problem.message},
            status=problem.status,
            headers=problem.headers,
            principal=viewer(request),
        )
    if isinstance(exc, RequestValidationError):
        message = "Part of this form was not understood. Go back and try again."
        return pages.render(
            request, "message.html", {"title": "Please try again", "error": message}, status=400,
            principal=viewer(request),
        )  # fmt: skip
    return None
