"""The operator's actions on an account, each confirmed, elevated, and audited.

Every action has a confirmation page (``GET /admin/users/{id}/{action}``) that first sends
an unconfirmed admin session through ``/step-up``, and a ``POST`` to the same path that
acts (CSRF-checked). Resetting 2FA also asks the operator to attest, with a checkbox the
server checks, that they verified who is asking: it is the action social engineers want.
The service writes the audit row in the transaction of the change; if the elevation lapsed
between the two requests, the ``POST`` sends the admin to step up and back to confirm.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.responses import Response

from twostep.errors import ElevationRequired, InvalidInput, NotFound, TwostepError
from twostep.services import admin, sessions
from twostep.services.context import Context, Origin
from twostep.web.deps import RequestOrigin, State
from twostep.web.pages.admin.deps import Admin, user_url
from twostep.web.pages.csrf import CsrfChecked
from twostep.web.pages.deps import PagesDep, step_up_first
from twostep.web.pages.flow import form_error
from twostep.web.pages.routing import PageRoute, step_up_url

router = APIRouter(route_class=PageRoute, include_in_schema=False)

Outcome = tuple[str, int]
"""A ``done`` key for the detail page's message, and a count it may mention."""


@dataclass(frozen=True, slots=True)
class Action:
    slug: str
    label: str
    question: str
    consequences: tuple[str, ...]
    button: str
    run: Callable[[Context, sessions.Principal, str, Origin], Outcome]
    offered: Callable[[admin.UserDetail, sessions.Principal], bool]
    danger: bool = False
    attest: str | None = None


def _reset(ctx: Context, who: sessions.Principal, user_id: str, origin: Origin) -> Outcome:
    admin.reset_two_factor(ctx, who, user_id, origin)
    return "two-factor-reset", 0


def _unlock(ctx: Context, who: sessions.Principal, user_id: str, origin: Origin) -> Outcome:
    return ("unlocked" if admin.unlock(ctx, who, user_id, origin) else "not-locked"), 0


def _revoke(ctx: Context, who: sessions.Principal, user_id: str, origin: Origin) -> Outcome:
    return "sessions-revoked", admin.revoke_sessions(ctx, who, user_id, origin)


def _active(active: bool) -> Callable[[Context, sessions.Principal, str, Origin], Outcome]:
    def run(ctx: Context, who: sessions.Principal, user_id: str, origin: Origin) -> Outcome:
        admin.set_active(ctx, who, user_id, active, origin)
        return ("reactivated" if active else "deactivated"), 0

    return run


def _role(role: admin.Role) -> Callable[[Context, sessions.Principal, str, Origin], Outcome]:
    def run(ctx: Context, who: sessions.Principal, user_id: str, origin: Origin) -> Outcome:
        admin.set_role(ctx, who, user_id, role, origin)
        return ("made-admin" if role == "admin" else "admin-removed"), 0

    return run


ACTIONS: dict[str, Action] = {
    a.slug: a
    for a in (
        Action(
            "reset-2fa",
            "Reset 2FA",
            "Reset two-step verification for {email}?",
            (
                "Every authenticator app and backup code of this account is removed.",
                "They are signed out everywhere, and any lockout is lifted.",
                "They get an email saying an administrator reset their two-step verification.",
                "At their next sign-in they set up a new authenticator app.",
            ),
            "Reset two-step verification",
            _reset,
            lambda d, _: bool(d.devices) or d.backup.total > 0,
            danger=True,
            attest="I confirmed who is asking through a channel other than this account's "
            "email (for example a video call or in person).",
        ),
        Action(
            "unlock",
            "Unlock",
            "Unlock {email}?",
            (
                "Lifts the lockouts after too many wrong codes or passwords, if any.",
                "Failed attempts start counting from zero again.",
            ),
            "Unlock",
            _unlock,
            lambda d, _: True,
        ),
        Action(
            "revoke-sessions",
            "Sign out everywhere",
            "Sign {email} out everywhere?",
            (
                "Every session of this account ends at once, in every browser and app.",
                "Access tokens already issued to it stop working.",
            ),
            "Sign out everywhere",
            _revoke,
            lambda d, _: bool(d.sessions),
        ),
        Action(
            "deactivate",
            "Deactivate",
            "Deactivate {email}?",
            (
                "They can no longer sign in, and are signed out everywhere.",
                "Nothing is deleted: you can reactivate the account later.",
            ),
            "Deactivate",
            _active(False),
            lambda d, who: d.account.is_active and d.account.id != who.user.id,
            danger=True,
        ),
        Action(
            "reactivate",
            "Reactivate",
            "Reactivate {email}?",
            ("They can sign in again with their password and second factor.",),
            "Reactivate",
            _active(True),
            lambda d, _: not d.account.is_active,
        ),
        Action(
            "make-admin",
            "Make admin",
            "Make {email} an administrator?",
            (
                "They can open this console and see every account and the audit log.",
                "After confirming with their own code, they can reset, unlock, deactivate "
                "and promote accounts.",
            ),
            "Make administrator",
            _role("admin"),
            lambda d, _: d.account.role != "admin" and d.account.is_active,
        ),
        Action(
            "remove-admin",
            "Remove admin",
            "Remove administrator rights from {email}?",
            (
                "They keep their account but can no longer open the admin console.",
                "The last active administrator cannot be removed.",
            ),
            "Remove administrator rights",
            _role("user"),
            lambda d, _: d.account.role == "admin",
        ),
    )  # fmt: skip
}

DONE = {
    "two-factor-reset": "Two-step verification was reset for {email}. They were signed out and "
    "emailed, and will set up a new authenticator app at their next sign-in.",
    "unlocked": "{email} was unlocked.",
    "not-locked": "{email} was not locked out; the failure counters start from zero again.",
    "sessions-revoked": "{email} was signed out of {n} session{s}.",
    "deactivated": "{email} was deactivated and signed out everywhere.",
    "reactivated": "{email} was reactivated and can sign in again.",
    "made-admin": "{email} is now an administrator.",
    "admin-removed": "{email} is no longer an administrator.",
}


def done_message(key: str, email: str, n: int) -> str | None:
    """The result message for a ``done`` key (only known keys; the email from the server)."""
    text = DONE.get(key)
    return text.format(email=email, n=n, s="" if n == 1 else "s") if text else None


def _action(slug: str) -> Action:
    found = ACTIONS.get(slug)
    if found is None:
        raise NotFound("There is no such action.")
    return found


def _values(action: Action, detail: admin.UserDetail) -> dict[str, object]:
    email = detail.account.email
    return {
        "action": action,
        "account": detail.account,
        "question": action.question.format(email=email),
    }


@router.get("/admin/users/{user_id}/{slug}")
def confirm_page(
    request: Request, user_id: str, slug: str, pages: PagesDep, state: State, principal: Admin
) -> Response:
    """Ask the operator to confirm, after stepping up if their session is not elevated."""
    action = _action(slug)
    detail = admin.user_detail(state.ctx, principal, user_id[:64])
    step_up_first(request, state, principal)
    values = _values(action, detail)
    return pages.render(request, "admin/confirm.html", values, principal=principal)


@router.post("/admin/users/{user_id}/{slug}")
def act(
    request: Request,
    user_id: str,
    slug: str,
    _: CsrfChecked,
    pages: PagesDep,
    state: State,
    origin: RequestOrigin,
    principal: Admin,
    attested: Annotated[str, Form()] = "",
) -> Response:
    """Do it; then back to the account with the result."""
    action = _action(slug)
    detail = admin.user_detail(state.ctx, principal, user_id[:64])
    values = _values(action, detail)
    try:
        if action.attest and attested != "yes":
            raise InvalidInput("attested", "Tick the box to confirm you verified who is asking.")
        key, count = action.run(state.ctx, principal, detail.account.id, origin)
    except ElevationRequired:
        return pages.redirect(step_up_url(user_url(detail.account.id, f"/{action.slug}")))
    except NotFound:
        raise
    except TwostepError as exc:
        return form_error(pages, request, "admin/confirm.html", values, exc, principal=principal)
    if action.slug == "remove-admin" and detail.account.id == principal.user.id:
        return pages.redirect("/account")
    return pages.redirect(user_url(detail.account.id, done=key, n=count or ""))
