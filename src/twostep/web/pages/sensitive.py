"""Changes that need a fresh factor (DESIGN §4.7), and the step-up page that grants it.

Each sensitive change has its own page: the GET asks for confirmation, the POST acts. When
the session is not elevated, the GET sends the user to ``/step-up?next=<this page>``; after
a code, they land back on the same confirmation and carry on where they were. ``next`` only
ever holds a path of this site (:func:`~twostep.web.pages.routing.safe_next`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from starlette.responses import Response

from twostep.errors import InvalidInput, TwostepError
from twostep.services import accounts, devices, elevation, recovery, refresh, sessions
from twostep.web.deps import RequestOrigin, State
from twostep.web.pages.csrf import CsrfChecked
from twostep.web.pages.deps import FullUser, PagesDep, require_elevated, session_token
from twostep.web.pages.enroll import backup_codes_page
from twostep.web.pages.flow import factor_values, form_error, start_session
from twostep.web.pages.routing import PageRedirect, PageRoute, safe_next

__all__ = ["require_elevated", "router"]

router = APIRouter(route_class=PageRoute, include_in_schema=False)

TextField = Annotated[str, Form()]


def _step_up_values(
    state: State, principal: sessions.Principal, next_url: str, method: str
) -> dict[str, object]:
    found = devices.list_devices(state.ctx, principal)
    backup = recovery.backup_status(state.ctx, principal)
    return {
        "next": safe_next(next_url),
        "has_device": any(d.status == "active" for d in found),
        "backup_allowed": backup.remaining > 0,
        "method": "backup" if method == "backup" and backup.remaining > 0 else "totp",
        "minutes": state.ctx.settings.elevation_minutes,
        "digits": state.ctx.provider.params.digits,
    }


@router.get("/step-up")
def step_up_page(
    request: Request,
    pages: PagesDep,
    state: State,
    principal: FullUser,
    next_url: Annotated[str, Query(alias="next")] = "",
    method: str = "totp",
) -> Response:
    """Ask for a code before a sensitive change."""
    values = _step_up_values(state, principal, next_url, method)
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
    """Elevate the session with a code (or, without a device, the password); then ``next``."""
    values = _step_up_values(state, principal, next_url, method)
    totp_code, backup = factor_values(str(values["method"]), code, backup_code)
    try:
        if not values["has_device"]:
            state.limits.hit("elevate", ip=origin.ip or "", account=principal.user.id)
            elevation.elevate_with_password(state.ctx, principal, password[:1024], origin)
        else:
            if totp_code is None and backup is None:
                raise InvalidInput("code", "Enter the code from your authenticator app.")
            state.limits.hit("elevate", ip=origin.ip or "", account=principal.user.id)
            with state.count("elevate"):
                elevation.elevate(state.ctx, principal, origin, code=totp_code, backup_code=backup)
        # The elevated session gets a new cookie: a copy of the old one elevates nothing.
        renewed = refresh.rotate(state.ctx, session_token(request, pages) or "", origin)
    except TwostepError as exc:
        return form_error(pages, request, "step_up.html", values, exc, principal=principal)
    return start_session(pages, state, renewed, safe_next(next_url))


def _confirm(
    pages: PagesDep, request: Request, principal: sessions.Principal, **values: object
) -> Response:
    return pages.render(request, "confirm.html", values, principal=principal)


@router.get("/account/backup-codes")
def regenerate_page(
    request: Request, pages: PagesDep, state: State, principal: FullUser
) -> Response:
    """Confirm making new backup codes (the old ones stop working)."""
    require_elevated(request, state, principal)
    return _confirm(pages, request, principal, action="regenerate")


@router.post("/account/backup-codes")
def regenerate_submit(
    request: Request,
    _: CsrfChecked,
    pages: PagesDep,
    state: State,
    origin: RequestOrigin,
    principal: FullUser,
) -> Response:
    """Replace the backup codes and show the new ones, once."""
    codes = recovery.regenerate(state.ctx, principal, origin)
    return backup_codes_page(pages, request, codes, principal, first=False)


@router.get("/account/two-factor/disable")
def disable_page(request: Request, pages: PagesDep, state: State, principal: FullUser) -> Response:
    """Confirm turning two-factor authentication off."""
    require_elevated(request, state, principal)
    return _confirm(pages, request, principal, action="disable")


@router.post("/account/two-factor/disable")
def disable_submit(
    request: Request,
    _: CsrfChecked,
    pages: PagesDep,
    state: State,
    origin: RequestOrigin,
    principal: FullUser,
) -> Response:
    """Remove every device and backup code."""
    try:
        devices.disable_two_factor(state.ctx, principal, origin)
    except TwostepError as exc:
        values = {"action": "disable"}
        return form_error(pages, request, "confirm.html", values, exc, principal=principal)
    return pages.redirect("/account?notice=two-factor-off")


def _device(state: State, principal: sessions.Principal, device_id: str) -> devices.DeviceInfo:
    for device in devices.list_devices(state.ctx, principal):
        if device.id == device_id:
            return device
    raise PageRedirect("/account")


@router.get("/account/devices/{device_id}/remove")
def remove_page(
    request: Request, device_id: str, pages: PagesDep, state: State, principal: FullUser
) -> Response:
    """Confirm removing a device (the last one takes 2FA with it)."""
    device = _device(state, principal, device_id)
    if device.status == "active":
        require_elevated(request, state, principal)
    active = [d for d in devices.list_devices(state.ctx, principal) if d.status == "active"]
    last = device.status == "active" and len(active) == 1
    return _confirm(pages, request, principal, action="remove", device=device, last=last)


@router.post("/account/devices/{device_id}/remove")
def remove_submit(
    request: Request,
    device_id: str,
    _: CsrfChecked,
    pages: PagesDep,
    state: State,
    origin: RequestOrigin,
    principal: FullUser,
) -> Response:
    """Remove the device."""
    device = _device(state, principal, device_id)
    try:
        removal = devices.remove(state.ctx, principal, device.id, origin)
    except TwostepError as exc:
        values = {"action": "remove", "device": device, "last": True}
        return form_error(pages, request, "confirm.html", values, exc, principal=principal)
    notice = "two-factor-off" if removal.two_factor_disabled else "device-removed"
    return pages.redirect(f"/account?notice={notice}")


@router.get("/account/password")
def password_page(request: Request, pages: PagesDep, state: State, principal: FullUser) -> Response:
    """The change-password form."""
    require_elevated(request, state, principal)
    return pages.render(request, "password.html", {}, principal=principal)


@router.post("/account/password")
def password_submit(
    request: Request,
    _: CsrfChecked,
    pages: PagesDep,
    state: State,
    origin: RequestOrigin,
    principal: FullUser,
    current_password: TextField = "",
    new_password: TextField = "",
) -> Response:
    """Change the password; other sessions end."""
    try:
        accounts.change_password(state.ctx, principal, current_password, new_password, origin)
    except TwostepError as exc:
        return form_error(pages, request, "password.html", {}, exc, principal=principal)
    return pages.redirect("/account?notice=password-changed")
