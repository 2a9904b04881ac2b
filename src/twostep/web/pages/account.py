"""The account security page: devices, backup codes, sessions, password, 2FA on or off.

Reading the page and the harmless changes (renaming a device, signing a session out) need a
full session. Changing the password asks for an elevated session first; the other changes
to the second factor live in :mod:`.device_actions`, the step-up itself in :mod:`.step_up`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.responses import Response

from twostep.errors import TwostepError
from twostep.mail.useragent import describe_agent
from twostep.services import accounts, backup_codes, devices, remembered, sessions
from twostep.web.deps import RequestOrigin, State
from twostep.web.pages import activity, email_change
from twostep.web.pages.csrf import CsrfChecked
from twostep.web.pages.deps import FullUser, MaybeUser, PagesDep, step_up_first
from twostep.web.pages.flow import form_error, notice
from twostep.web.pages.rendering import Pages
from twostep.web.pages.routing import PageRoute

router = APIRouter(route_class=PageRoute, include_in_schema=False)

TextField = Annotated[str, Form()]
LOW_BACKUP_CODES = 3
RECENT_ACTIVITY = 6
"""At or below this many unused backup codes, the account page asks for new ones."""


@router.get("/")
def home(request: Request, pages: PagesDep, principal: MaybeUser) -> Response:
    """Signed in: the account page; otherwise a short welcome."""
    if principal is not None:
        return pages.redirect("/account" if principal.session.purpose == "full" else "/enroll")
    return pages.render(request, "home.html")


@dataclass(frozen=True, slots=True)
class SessionRow:
    """A sign-in as the account page shows it: browser, address, last activity."""

    id: str
    browser: str
    ip: str | None
    signed_in: datetime
    last_active: datetime
    current: bool


def session_rows(found: list[sessions.UserSession], current: str) -> list[SessionRow]:
    """This browser first, then the most recently active."""
    rows = [
        SessionRow(
            id=s.id,
            browser=describe_agent(s.user_agent) or "Unknown browser",
            ip=activity.place(s.ip),
            signed_in=s.created_at,
            last_active=s.last_seen_at or s.created_at,
            current=s.id == current,
        )
        for s in found
    ]
    return sorted(rows, key=lambda row: (not row.current, -row.last_active.timestamp()))


def account_values(state: State, principal: sessions.Principal) -> dict[str, object]:
    """Everything the account page shows."""
    ctx = state.ctx
    at = ctx.clock.now()
    found = devices.list_devices(ctx, principal)
    active = [d for d in found if d.status == "active"]
    live = sessions.list_active(ctx, principal.user.id)
    elevated_for = (
        int((principal.session.elevated_until - at).total_seconds())
        if principal.session.elevated_until is not None and principal.is_elevated(at)
        else 0
    )
    return {
        "devices": active,
        "pending": [d for d in found if d.status != "active"],
        "two_factor": bool(active),
        "backup": backup_codes.backup_status(ctx, principal),
        "low_backup": LOW_BACKUP_CODES,
        "sessions": session_rows(live, principal.session.id),
        "activity": activity.recent(ctx, principal, RECENT_ACTIVITY),
        "current_session": principal.session.id,
        "elevated_for": elevated_for,
        "mfa_required": ctx.settings.mfa == "required",
        "email_verified": principal.user.email_verified_at is not None,
        "browsers": remembered.list_browsers(ctx, principal),
    }


def account_notice(
    key: str | None, backup: backup_codes.BackupStatus, *, two_factor: bool
) -> str | None:
    """The notice named in the query, in words that fit what the account holds now.

    Counts come from the account, never from the query: ``?notice=backup-used&left=99``
    shows the real number of codes left.
    """
    if key == "backup-used":
        left = backup.remaining
        if left == 0:
            return "You signed in with your last backup code. Make new ones now."
        codes = "backup code" if left == 1 else "backup codes"
        nudge = " — make new ones" if left <= LOW_BACKUP_CODES else ""
        return f"You signed in with a backup code. {left} {codes} left{nudge}."
    if key == "email-changed":
        return (
            "Your email address was changed. Sign in with the new one from now on; "
            "we told the old address too."
        )
    if key == "email-verified" and not two_factor:
        return (
            "Your email address is confirmed. Next, set up two-step verification below: "
            "it keeps your account safe even if someone learns your password."
        )
    return notice(key)


def render_account(
    pages: Pages,
    request: Request,
    state: State,
    principal: sessions.Principal,
    *,
    error: TwostepError | None = None,
) -> Response:
    values = account_values(state, principal)
    backup = backup_codes.backup_status(state.ctx, principal)
    values["notice"] = account_notice(
        request.query_params.get("notice"), backup, two_factor=bool(values["two_factor"])
    )
    if error is None:
        return pages.render(request, "account.html", values, principal=principal)
    return form_error(pages, request, "account.html", values, error, principal=principal)


@router.get("/account")
def account(request: Request, pages: PagesDep, state: State, principal: FullUser) -> Response:
    """The account security overview."""
    return render_account(pages, request, state, principal)


@router.post("/account/devices/{device_id}/rename")
def rename_device(
    request: Request,
    device_id: str,
    _: CsrfChecked,
    pages: PagesDep,
    state: State,
    origin: RequestOrigin,
    principal: FullUser,
    name: TextField = "",
) -> Response:
    """Give a device a new name."""
    try:
        devices.rename(state.ctx, principal, device_id[:64], name, origin)
    except TwostepError as exc:
        return render_account(pages, request, state, principal, error=exc)
    return pages.redirect("/account?notice=device-renamed#devices")


@router.post("/account/sessions/{session_id}/revoke")
def revoke_session(
    request: Request,
    session_id: str,
    _: CsrfChecked,
    pages: PagesDep,
    state: State,
    origin: RequestOrigin,
    principal: FullUser,
) -> Response:
    """Sign one session out; signing out this one is a logout."""
    try:
        sessions.revoke(state.ctx, principal, session_id[:64], origin)
    except TwostepError as exc:
        return render_account(pages, request, state, principal, error=exc)
    if session_id == principal.session.id:
        response = pages.redirect("/login?notice=signed-out")
        pages.cookies.clear(response, pages.cookies.session)
        pages.renew_csrf(response)
        return response
    return pages.redirect("/account?notice=session-revoked#sessions")


@router.post("/account/sessions/revoke-others")
def revoke_other_sessions(
    _: CsrfChecked,
    pages: PagesDep,
    state: State,
    origin: RequestOrigin,
    principal: FullUser,
) -> Response:
    """Sign every other session out."""
    sessions.revoke_others(state.ctx, principal, origin)
    return pages.redirect("/account?notice=sessions-revoked#sessions")


router.include_router(email_change.router)
router.include_router(activity.router)


@router.get("/account/password")
def password_page(request: Request, pages: PagesDep, state: State, principal: FullUser) -> Response:
    """The change-password form."""
    step_up_first(request, state, principal)
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
