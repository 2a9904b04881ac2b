"""What several pages share: notices, inline errors, factor fields and finishing a sign-in.

A sign-in ends in one of two ways. A session: its refresh token goes into the session
cookie, the CSRF nonce is replaced, and the browser goes on (to ``/enroll`` first when the
session may only enroll, or when the deployment enrolls at registration and the account has
no device yet). A challenge: its id waits in the challenge cookie, and the browser goes to
``/login/2fa``. Email is never a second factor: an emailed sign-in code ends the same way as
a password, challenge included.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from twostep.errors import (
    ElevationRequired,
    EnrollmentRequired,
    InvalidCode,
    InvalidInput,
    TooManyAttempts,
    TwostepError,
    VerificationRequired,
)
from twostep.services import login, sessions
from twostep.services.context import Origin
from twostep.services.email_codes import Purpose
from twostep.web import flows
from twostep.web.deps import WebState
from twostep.web.pages.cookies import PendingChallenge
from twostep.web.pages.rendering import Pages
from twostep.web.pages.routing import describe, safe_next, with_next

ATTEMPTS_WARNING = 3
"""Attempts left are shown once fewer than this many remain."""

NOTICES: dict[str, str] = {
    "signed-out": "You have signed out.",
    "expired": "This sign-in attempt expired. Please sign in again.",
    "verified": "Your email address is confirmed. Sign in to continue.",
    "password-reset": "Your password was changed and every session was signed out. "
    "Sign in with your new password.",
    "password-reset-in": "Your password was changed and every other session was signed out. "
    "You're signed in.",
    "device-added": "Your new authenticator app is ready to use.",
    "device-removed": "The authenticator app was removed.",
    "device-renamed": "The authenticator app was renamed.",
    "two-factor-off": "Two-step verification is off. Your backup codes no longer work.",
    "two-factor-on": "Two-step verification is on. You'll be asked for a code when you sign in.",
    "password-changed": "Your password was changed. Other sessions were signed out.",
    "session-revoked": "That session was signed out.",
    "sessions-revoked": "All your other sessions were signed out.",
    "email-verified": "Your email address is confirmed.",
    "codes-saved": "Your new backup codes are ready. The old ones no longer work.",
    "setup-expired": "That setup was replaced or has expired. Start again below.",
    "key-added": "Your security key is ready. Use it when you sign in or confirm it's you.",
    "browser-forgotten": "That browser will be asked for a code again.",
    "browsers-forgotten": "Every remembered browser will be asked for a code again.",
}


def lock_values(
    state: WebState, seconds: int, *, kind: str, backup_allowed: bool = False
) -> dict[str, Any]:
    """What a page shows about a lock: when it ends, and the truthful ways out.

    ``kind`` is ``"otp"`` (the account's second-factor lock: every factor is refused until it
    ends, so the ways out are waiting and an administrator) or ``"password"`` (a reset link,
    or an emailed code followed by the second factor, gets the owner past it, DESIGN §4.3).
    """
    until = state.ctx.clock.now() + timedelta(seconds=seconds)
    ways: list[dict[str, str]] = []
    if kind == "otp":
        title = "Too many wrong codes: sign-in is locked for now."
        why = "This protects your account from someone guessing codes."
        if backup_allowed:
            ways.append({"text": "Without your phone? Once it unlocks, use a backup code."})
        ways.append({"text": "Need in sooner? Ask your administrator to unlock your account."})
    else:
        title = "Too many wrong passwords: signing in with a password is locked for now."
        why = "This protects your account from someone guessing passwords."
        ways.append(
            {"text": "Reset your password", "href": "/forgot-password",
             "after": "— the emailed link gets you past this lock."}
        )  # fmt: skip
        ways.append(
            {"text": "Email me a sign-in code", "href": "/login/email",
             "after": "— then enter your authenticator code."}
        )  # fmt: skip
        ways.append({"text": "Still stuck? Ask your administrator to unlock your account."})
    return {
        "lock": {
            "seconds": seconds,
            "until_iso": until.isoformat(),
            "until_text": until.strftime("%H:%M UTC"),
            "title": title,
            "why": why,
            "ways": ways,
        }
    }


def code_problem(exc: TwostepError) -> str | None:
    """An extra line for a refused code: how many tries are left, once fewer than three."""
    left = getattr(exc, "attempts_left", None)
    if isinstance(exc, InvalidCode) and left is not None and 0 < left < ATTEMPTS_WARNING:
        return f"{left} {'try' if left == 1 else 'tries'} left before sign-in locks for a while."
    return None


def notice(key: str | None) -> str | None:
    """The text of a notice named in a query string (only known keys: no injected text)."""
    return NOTICES.get(key or "")


def clean_code(value: str) -> str | None:
    """A typed code without spaces or dashes; ``None`` when nothing was typed."""
    compact = "".join(value.split()).replace("-", "")
    return compact[:64] or None


def check_code_length(code: str | None, digits: int) -> None:
    """Refuse a typed authenticator code of the wrong shape before it costs an attempt."""
    if code is not None and (len(code) != digits or not code.isdigit()):
        raise InvalidInput("code", f"Enter all {digits} digits of the code your app shows now.")


def factor_values(method: str, code: str, backup_code: str) -> tuple[str | None, str | None]:
    """``(code, backup_code)`` for the services, from the two fields of a factor form."""
    if method == "backup":
        return None, (backup_code.strip()[:64] or None)
    return clean_code(code), None


def form_error(
    pages: Pages,
    request: Request,
    template: str,
    values: Mapping[str, Any],
    exc: TwostepError,
    *,
    principal: sessions.Principal | None = None,
) -> Response:
    """Render a form again with the error of ``exc`` next to it, with the right status.

    An error the form cannot fix in place (a step-up or an enrollment is needed) is raised
    again, for the page route to answer with the right redirect.
    """
    if isinstance(exc, ElevationRequired | EnrollmentRequired | VerificationRequired):
        raise exc
    problem = describe(exc)
    return pages.render(
        request,
        template,
        {
            **values,
            "error": problem.message,
            "error_field": problem.field,
            "error_hint": code_problem(exc),
        },
        status=problem.status,
        principal=principal,
        headers=problem.headers,
    )


def start_session(
    pages: Pages, state: WebState, issued: sessions.IssuedSession, target: str
) -> Response:
    """Put a new session in the cookie and go to ``target``."""
    response = pages.redirect(target)
    seconds = int((issued.session.expires_at - state.ctx.clock.now()).total_seconds())
    pages.cookies.set(
        response, pages.cookies.session, issued.refresh_token, max_age=max(60, seconds)
    )
    pages.cookies.clear(response, pages.cookies.challenge)
    pages.renew_csrf(response)
    return response


def finish_sign_in(
    pages: Pages, state: WebState, result: login.LoginResult, next_url: str | None
) -> Response:
    """After a first factor: a session (maybe to enrollment), or on to the code step."""
    settings = state.ctx.settings
    if isinstance(result, login.ChallengeIssued):
        expires = int(state.ctx.clock.now().timestamp()) + result.expires_in
        pending = PendingChallenge(
            result.challenge_id, expires, login.METHOD_BACKUP in result.methods
        )
        response = pages.redirect(with_next("/login/2fa", next_url))
        pages.cookies.set(
            response, pages.cookies.challenge, pending.encode(), max_age=result.expires_in
        )
        return response
    if result.session.purpose != "full" or settings.enroll_at_registration:
        # Without a challenge, the account has no device yet; after enrolling, on to ``next``.
        return start_session(pages, state, result, with_next("/enroll", next_url))
    return start_session(pages, state, result, safe_next(next_url))


def send_email_code(
    request: Request,
    pages: Pages,
    state: WebState,
    origin: Origin,
    email: str,
    purpose: Purpose,
    template: str,
) -> Response:
    """Mail a code for ``purpose`` and show ``template``: the same page for every address.

    A cooldown shows as a wait on the same page; only malformed input is an error.
    """
    values: dict[str, object] = {"email": email.strip()[:254], "sent": True}
    try:
        flows.request_email_code(state, origin, email, purpose)
    except TooManyAttempts as exc:
        values["wait"] = exc.retry_after
    except TwostepError as exc:
        return form_error(pages, request, template, {**values, "sent": False}, exc)
    return pages.render(request, template, values)
