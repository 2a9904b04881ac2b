"""The step-up page: a fresh factor elevates the browser's session (DESIGN §4.7).

Every sensitive change's page sends an unelevated session to ``/step-up?next=<that page>``;
after the factor the user lands back where they were. The service decides which factor the
account owes (a code or backup code with 2FA on, the password without); the page only reads
which one was typed. ``next`` only ever holds a path of this site
(:func:`~twostep.web.pages.routing.safe_next`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from starlette.responses import Response

from twostep.errors import InvalidInput, TwostepError
from twostep.services import assertions, backup_codes, refresh, sessions
from twostep.services.context import Origin
from twostep.web import flows
from twostep.web.deps import RequestOrigin, State
from twostep.web.pages import sso
from twostep.web.pages.csrf import CsrfChecked
from twostep.web.pages.deps import FullUser, PagesDep, session_token
from twostep.web.pages.flow import factor_values, form_error, start_session
from twostep.web.pages.routing import PageRoute, safe_next

router = APIRouter(route_class=PageRoute, include_in_schema=False)
SSO_RETURN = "/sso/return"

TextField = Annotated[str, Form()]


def step_up_values(
    state: State, principal: sessions.Principal, next_url: str, method: str, origin: Origin
) -> dict[str, object]:
    backup = backup_codes.backup_status(state.ctx, principal) if principal.two_factor else None
    backup_allowed = backup is not None and backup.remaining > 0
    target = safe_next(next_url)
    return {
        "next": target,
        "for_app": target.startswith(SSO_RETURN),  # an app's access rule asked, not a change
        "has_device": principal.two_factor,
        "backup_allowed": backup_allowed,
        "method": "backup" if method == "backup" and backup_allowed else "totp",
        "minutes": state.ctx.settings.elevation_minutes,
        "digits": state.ctx.provider.params.digits,
        "webauthn_options": key_options(state, principal, origin) if principal.two_factor else None,
    }


def key_options(state: State, principal: sessions.Principal, origin: Origin) -> object:
    """Options for a step-up by security key when the account has one (else ``None``)."""
    try:
        return assertions.elevate_options(state.ctx, principal, origin).options
    except InvalidInput:
        return None


@router.get("/step-up")
def step_up_page(
    request: Request,
    pages: PagesDep,
    state: State,
    principal: FullUser,
    origin: RequestOrigin,
    next_url: Annotated[str, Query(alias="next")] = "",
    method: str = "totp",
    rd: str = "",
) -> Response:
    """Ask for a code (or, without 2FA, the password) before a sensitive change, or before
    an app whose access rule wants a fresh second factor (``rd``: return there after)."""
    next_url = sso.next_for(state, rd, next_url)
    values = step_up_values(state, principal, next_url, method, origin)
    return pages.render(request, "step_up.html", values, principal=principal)


@router.post("/step-up")
def step_up_submit(
    request: Request,
    _: CsrfChecked,
    pages: PagesDep,
    state: State,
    origin: RequestOrigin,
    principal: FullUser,
    code: TextField = "",
    backup_code: TextField = "",
    password: TextField = "",
    method: TextField = "totp",
    next_url: Annotated[str, Form(alias="next")] = "",
) -> Response:
    """Elevate the session with the factor typed; then ``next``."""
    values = step_up_values(state, principal, next_url, method, origin)
    totp_code, backup = factor_values(str(values["method"]), code, backup_code)
    try:
        if principal.two_factor:
            if totp_code is None and backup is None:
                raise InvalidInput("code", "Enter the code from your authenticator app.")
            flows.step_up_session(state, origin, principal, code=totp_code, backup_code=backup)
        else:
            flows.step_up_session(state, origin, principal, password=password[:1024])
        # The elevated session gets a new cookie: a copy of the old one elevates nothing.
        renewed = refresh.rotate(state.ctx, session_token(request, pages) or "", origin)
    except TwostepError as exc:
        return form_error(pages, request, "step_up.html", values, exc, principal=principal)
    return start_session(pages, state, renewed, safe_next(next_url))
