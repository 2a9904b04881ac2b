"""Changes to the second factor that need an elevated session (DESIGN §4.7).

New backup codes, turning 2FA off, removing a device: the GET asks for confirmation (and
sends an unelevated session to the step-up page first, with ``next`` pointing back here),
the POST acts.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from twostep.errors import TwostepError
from twostep.services import backup_codes, devices, sessions
from twostep.web.deps import RequestOrigin, State
from twostep.web.pages.csrf import CsrfChecked
from twostep.web.pages.deps import FullUser, PagesDep, step_up_first
from twostep.web.pages.enroll import backup_codes_page
from twostep.web.pages.flow import form_error
from twostep.web.pages.routing import PageRedirect, PageRoute

router = APIRouter(route_class=PageRoute, include_in_schema=False)


def _confirm(
    pages: PagesDep, request: Request, principal: sessions.Principal, **values: object
) -> Response:
    return pages.render(request, "confirm.html", values, principal=principal)


@router.get("/account/backup-codes")
def regenerate_page(
    request: Request, pages: PagesDep, state: State, principal: FullUser
) -> Response:
    """Confirm making new backup codes (the old ones stop working)."""
    step_up_first(request, state, principal)
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
    codes = backup_codes.regenerate(state.ctx, principal, origin)
    return backup_codes_page(pages, request, codes, principal, first=False)


@router.get("/account/two-factor/disable")
def disable_page(request: Request, pages: PagesDep, state: State, principal: FullUser) -> Response:
    """Confirm turning two-factor authentication off."""
    step_up_first(request, state, principal)
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
        step_up_first(request, state, principal)
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
