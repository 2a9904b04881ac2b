"""Enrolling an authenticator app: name it, scan or type the key, confirm the first code.

The key of a pending device stays the same until it is confirmed or the user starts over:
``GET /enroll`` shows it again, so an entry already scanned keeps working. If the confirming
code is wrong, the page is rendered again from the key the form carried (it is only the
user's own key, and a pending device works only with the code of the key it was created
with). On the first device, the backup codes follow, shown once.
"""

from __future__ import annotations

import base64
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from starlette.responses import Response

from twostep.errors import ElevationRequired, InvalidInput, NotFound, TwostepError
from twostep.services import enrollment, sessions
from twostep.web import flows
from twostep.web.deps import RequestOrigin, State
from twostep.web.pages.csrf import CsrfChecked
from twostep.web.pages.deps import PagesDep, SignedIn
from twostep.web.pages.flow import check_code_length, clean_code, form_error, notice
from twostep.web.pages.routing import (
    VERIFY_FIRST,
    PageRedirect,
    PageRoute,
    safe_next,
    step_up_url,
)

router = APIRouter(route_class=PageRoute, include_in_schema=False)

TextField = Annotated[str, Form()]
APPS = (
    "Google Authenticator",
    "Microsoft Authenticator",
    "Authy",
    "1Password",
    "Bitwarden",
    "FreeOTP",
)


RESET_BY_ADMIN = (
    "An administrator reset two-step verification on your account, so your old authenticator "
    "entry and backup codes no longer work. Set up your authenticator app again to continue."
)
ADMIN_NEEDS_2FA = "Administrators need two-step verification. Set it up to open the admin console."


def _why(principal: sessions.Principal) -> str | None:
    """Why this user is asked to enrol before anything else, when it is not their choice."""
    if principal.user.must_enroll:
        return RESET_BY_ADMIN
    if principal.user.role == "admin" and principal.session.purpose != "full":
        return ADMIN_NEEDS_2FA
    return None


def _start_values(
    state: State, principal: sessions.Principal, name: str, next_url: str = ""
) -> dict[str, object]:
    settings = state.ctx.settings
    return {
        "device_name": name,
        "can_skip": principal.session.purpose == "full" and settings.mfa == "optional",
        "adding": principal.two_factor,
        "why": _why(principal),
        "next": safe_next(next_url, ""),
    }


@router.get("/enroll")
def enroll_start(
    request: Request,
    pages: PagesDep,
    state: State,
    principal: SignedIn,
    next_url: Annotated[str, Query(alias="next")] = "",
) -> Response:
    """Explain what is about to happen and name the new device; or resume a pending setup.

    A pending device keeps its key until it is confirmed or the user starts over, so a
    reload shows the key the user may already have scanned, never a new one.
    """
    if principal.user.email_verified_at is None:  # the service refuses it (DESIGN §4.13)
        return pages.redirect(VERIFY_FIRST)
    values = _start_values(state, principal, enrollment.DEFAULT_DEVICE_NAME, next_url)
    at = state.ctx.clock.now()
    if values["adding"] and not principal.is_elevated(at):
        return pages.redirect(step_up_url("/enroll"))
    values["notice"] = notice(request.query_params.get("notice"))
    pending = enrollment.resume(state.ctx, principal)
    if pending is not None and values["notice"] is None:
        return _key_page(request, pages, state, principal, pending, values)
    return pages.render(request, "enroll_start.html", values, principal=principal)


def _key_page(
    request: Request,
    pages: PagesDep,
    state: State,
    principal: sessions.Principal,
    started: enrollment.Enrollment,
    start_values: dict[str, object],
) -> Response:
    values = _key_values(state, principal, started)
    values.update({k: start_values[k] for k in ("why", "next")})
    return pages.render(request, "enroll.html", values, principal=principal)


def _key_values(
    state: State, principal: sessions.Principal, started: enrollment.Enrollment
) -> dict[str, object]:
    """The key page of a pending device, as the service keeps it (never as a form posted it)."""
    values = _show(
        started.device_id,
        started.device_name,
        started.secret,
        started.otpauth_uri,
        started.qr_svg,
        state.ctx.provider.params.digits,
    )
    values["account"] = principal.user.email
    return values


def _show(
    device_id: str, name: str, secret: str, uri: str, svg: str, digits: int
) -> dict[str, object]:
    encoded = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    return {
        "device_id": device_id,
        "device_name": name,
        "secret": secret,
        "otpauth_uri": uri,
        "qr_src": f"data:image/svg+xml;base64,{encoded}",
        "apps": APPS,
        "digits": digits,
    }


@router.post("/enroll")
def enroll_begin(
    request: Request,
    _: CsrfChecked,
    pages: PagesDep,
    state: State,
    origin: RequestOrigin,
    principal: SignedIn,
    device_name: TextField = "",
    next_url: Annotated[str, Form(alias="next")] = "",
) -> Response:
    """Create the pending device (a new key: "start over" replaces a pending one).

    The key is then shown by ``GET /enroll`` (post, redirect, get): reloading that page
    shows the same pending key, never a new one behind the user's back.
    """
    values = _start_values(state, principal, device_name[:64], next_url)
    try:
        enrollment.begin(state.ctx, principal, device_name, origin)
    except ElevationRequired:
        return pages.redirect(step_up_url("/enroll"))
    except TwostepError as exc:
        return form_error(pages, request, "enroll_start.html", values, exc, principal=principal)
    target = safe_next(next_url, "")
    return pages.redirect("/enroll" + (f"?{urlencode({'next': target})}" if target else ""))


@router.post("/enroll/confirm")
def enroll_confirm(
    request: Request,
    _: CsrfChecked,
    pages: PagesDep,
    state: State,
    origin: RequestOrigin,
    principal: SignedIn,
    device_id: TextField = "",
    code: TextField = "",
    next_url: Annotated[str, Form(alias="next")] = "",
) -> Response:
    """Activate the device with its first code; the first device brings backup codes."""
    if principal.user.email_verified_at is None:  # the service refuses it (DESIGN §4.13)
        return pages.redirect(VERIFY_FIRST)
    pending = enrollment.resume(state.ctx, principal)
    if pending is None or pending.device_id != device_id[:64]:
        # Replaced by a newer setup, or already confirmed (a form sent again).
        return pages.redirect(
            "/account" if principal.two_factor else "/enroll?notice=setup-expired"
        )
    values = _key_values(state, principal, pending)
    values.update(why=_why(principal), next=safe_next(next_url, ""))
    try:
        typed = clean_code(code)
        if typed is None:
            raise InvalidInput("code", "Enter the code your app shows for this account.")
        check_code_length(typed, state.ctx.provider.params.digits)
        done = flows.confirm_device(state, origin, principal, pending.device_id, typed)
    except NotFound:  # confirmed or replaced meanwhile, by another tab
        return pages.redirect("/enroll?notice=setup-expired")
    except TwostepError as exc:
        return form_error(pages, request, "enroll.html", values, exc, principal=principal)
    if done.backup_codes is None:
        return pages.redirect(safe_next(next_url, "") or "/account?notice=device-added")
    fresh = sessions.resolve(state.ctx, principal.session.id)
    return backup_codes_page(
        pages, request, done.backup_codes, fresh, first=True, next_url=safe_next(next_url, "")
    )


@router.get("/enroll/confirm")
def enroll_confirm_again() -> Response:
    """Reached by reloading or going back: the key is never shown twice, start over."""
    raise PageRedirect("/enroll")


def backup_codes_page(
    pages: PagesDep,
    request: Request,
    codes: list[str],
    principal: sessions.Principal,
    *,
    first: bool,
    next_url: str = "",
) -> Response:
    """The codes, once: list, download, print, and "I saved them" before going on."""
    issuer = pages.settings.issuer
    lines = [f"{issuer} backup codes for {principal.user.email}", ""]
    lines += codes
    lines += ["", "Each code works once. Keep them somewhere safe, away from your phone."]
    text = "\n".join(lines) + "\n"
    download = "data:text/plain;charset=utf-8;base64," + base64.b64encode(
        text.encode("utf-8")
    ).decode("ascii")
    values = {"codes": codes, "download": download, "first": first, "next": next_url}
    return pages.render(request, "backup_codes.html", values, principal=principal)
