"""Changing the account's email address: a code to the new address, a notice to the old.

The change needs an elevated session (DESIGN §4.7), so the first page sends an unconfirmed
session to the step-up page and back. Asking for a code answers a taken address like a free
one (the service tells the owner of a taken one instead); the address changes only when the
code sent to it comes back, and the old address is told.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.responses import Response

from twostep.errors import InvalidCode, TwostepError
from twostep.services import sessions
from twostep.web import flows
from twostep.web.deps import RequestOrigin, State
from twostep.web.pages.csrf import CsrfChecked
from twostep.web.pages.deps import FullUser, PagesDep, step_up_first
from twostep.web.pages.flow import form_error
from twostep.web.pages.rendering import Pages
from twostep.web.pages.routing import PageRoute

router = APIRouter(route_class=PageRoute, include_in_schema=False)

TextField = Annotated[str, Form()]
TEMPLATE = "account_email.html"


def _in_email_terms(exc: TwostepError, email: str) -> TwostepError:
    """The code came by email to the new address: say where to look."""
    if isinstance(exc, InvalidCode):
        return InvalidCode(
            f"That code didn't work. Check the code in the email we sent to {email}, "
            "or ask for a new one.",
            reason=exc.reason,
            attempts_left=exc.attempts_left,
        )
    return exc


def _page(
    pages: Pages,
    request: Request,
    principal: sessions.Principal,
    values: dict[str, object],
    exc: TwostepError | None = None,
) -> Response:
    if exc is None:
        return pages.render(request, TEMPLATE, values, principal=principal)
    return form_error(pages, request, TEMPLATE, values, exc, principal=principal)


@router.get("/account/email")
def email_page(request: Request, pages: PagesDep, state: State, principal: FullUser) -> Response:
    """Ask for the new address (after a fresh code)."""
    step_up_first(request, state, principal)
    return _page(pages, request, principal, {"stage": "ask", "new_email": ""})


@router.post("/account/email")
def email_submit(
    request: Request,
    _: CsrfChecked,
    pages: PagesDep,
    state: State,
    origin: RequestOrigin,
    principal: FullUser,
    new_email: TextField = "",
) -> Response:
    """Send a code to the new address; then ask for it."""
    values: dict[str, object] = {"stage": "ask", "new_email": new_email.strip()[:254]}
    try:
        started = flows.change_email(state, origin, principal, new_email[:320])
    except TwostepError as exc:
        return _page(pages, request, principal, values, exc)
    values.update(stage="code", new_email=started.email, minutes=started.expires_in // 60)
    return _page(pages, request, principal, values)


@router.post("/account/email/confirm")
def email_confirm(
    request: Request,
    _: CsrfChecked,
    pages: PagesDep,
    state: State,
    origin: RequestOrigin,
    principal: FullUser,
    new_email: TextField = "",
    code: TextField = "",
) -> Response:
    """Switch to the new address with its code; the old address gets a notice."""
    email = new_email.strip()[:254]
    values: dict[str, object] = {"stage": "code", "new_email": email}
    try:
        flows.confirm_email_change(state, origin, principal, email, "".join(code.split())[:16])
    except TwostepError as exc:
        return _page(pages, request, principal, values, _in_email_terms(exc, email))
    return pages.redirect("/account?notice=email-changed")
