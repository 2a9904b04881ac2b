"""A forgotten password: the request form, then the emailed link plus the second factor.

A reset never bypasses 2FA (DESIGN §4.8): when the account has an authenticator, the reset
page asks for its code, or a backup code, next to the new password. The request page gives
the same answer for every address.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.responses import Response

from twostep.errors import ResetLinkInvalid, TwostepError
from twostep.services import reset
from twostep.web import flows
from twostep.web.deps import RequestOrigin, State
from twostep.web.pages.csrf import CsrfChecked
from twostep.web.pages.deps import PagesDep
from twostep.web.pages.flow import check_code_length, factor_values, form_error, start_session
from twostep.web.pages.rendering import Pages
from twostep.web.pages.routing import PageRoute

router = APIRouter(route_class=PageRoute, include_in_schema=False)

TextField = Annotated[str, Form()]


@router.get("/forgot-password")
def forgot_page(request: Request, pages: PagesDep, email: str = "") -> Response:
    """Ask for a reset link."""
    return pages.render(request, "forgot.html", {"email": email[:254]})


@router.post("/forgot-password")
def forgot_submit(
    request: Request,
    _: CsrfChecked,
    pages: PagesDep,
    state: State,
    origin: RequestOrigin,
    email: TextField = "",
) -> Response:
    """Mail a link if the account exists; always the same page."""
    values = {"email": email.strip()[:254]}
    try:
        flows.forgot_password(state, origin, email)
    except TwostepError as exc:
        return form_error(pages, request, "forgot.html", values, exc)
    minutes = state.ctx.settings.reset_token_minutes
    return pages.render(request, "forgot_sent.html", {**values, "minutes": minutes})


def _dead_link(pages: Pages, request: Request) -> Response:
    values = {
        "title": "This link can't be used",
        "error": ResetLinkInvalid.default_message,
        "forgot_link": True,
    }
    return pages.render(request, "message.html", values, status=400)


def _reset_values(info: reset.ResetInfo, token: str, method: str) -> dict[str, object]:
    backup_allowed = "backup_code" in info.methods
    return {
        "token": token,
        "requires_code": info.requires_code,
        "backup_allowed": backup_allowed,
        "method": "backup" if method == "backup" and backup_allowed else "totp",
    }


@router.get("/reset-password")
def reset_page(
    request: Request, pages: PagesDep, state: State, token: str = "", method: str = "totp"
) -> Response:
    """The new-password form, with a code field when the account has 2FA."""
    token = token.strip()[:512]
    try:
        info = reset.reset_status(state.ctx, token)
    except ResetLinkInvalid:
        return _dead_link(pages, request)
    return pages.render(request, "reset.html", _reset_values(info, token, method))


@router.post("/reset-password")
def reset_submit(
    request: Request,
    _: CsrfChecked,
    pages: PagesDep,
    state: State,
    origin: RequestOrigin,
    token: TextField = "",
    password: TextField = "",
    code: TextField = "",
    backup_code: TextField = "",
    method: TextField = "totp",
) -> Response:
    """Set the new password; every session ends. With a code, the user is signed in here."""
    token = token.strip()[:512]
    totp_code, backup = factor_values(method, code, backup_code)
    try:
        check_code_length(totp_code, state.ctx.provider.params.digits)
        issued = flows.reset_password(
            state, origin, token, password, code=totp_code, backup_code=backup
        )
    except ResetLinkInvalid:
        return _dead_link(pages, request)
    except TwostepError as exc:
        try:  # the form again, as the link asks for it now
            info = reset.reset_status(state.ctx, token)
        except ResetLinkInvalid:
            return _dead_link(pages, request)
        values = _reset_values(info, token, method)
        return form_error(pages, request, "reset.html", values, exc)
    if issued is not None:  # link + code: signed in, and elevated like any 2FA sign-in
        return start_session(pages, state, issued, "/account?notice=password-reset-in")
    return pages.redirect("/login?notice=password-reset")
