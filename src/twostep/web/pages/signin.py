"""Signing in and out: password, the 2FA code step, an emailed sign-in code, logout."""

from __future__ import annotations

from contextlib import suppress
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from starlette.responses import Response

from twostep.errors import (
    ChallengeExpired,
    InvalidCode,
    InvalidInput,
    NotFound,
    TooManyAttempts,
    TwostepError,
)
from twostep.services import login, sessions
from twostep.services import webauthn as keys
from twostep.web import flows
from twostep.web.deps import RequestOrigin, State
from twostep.web.pages import sso
from twostep.web.pages.cookies import PendingChallenge
from twostep.web.pages.csrf import CsrfChecked
from twostep.web.pages.deps import MaybeUser, PagesDep
from twostep.web.pages.flow import (
    check_code_length,
    factor_values,
    finish_sign_in,
    form_error,
    lock_values,
    notice,
    send_email_code,
)
from twostep.web.pages.remember import device_token, remember_if_asked
from twostep.web.pages.routing import PageRoute, safe_next, with_next

router = APIRouter(route_class=PageRoute, include_in_schema=False)

TextField = Annotated[str, Form()]
NextField = Annotated[str, Form(alias="next")]
NextQuery = Annotated[str, Query(alias="next")]
EMAILED_CODE_WRONG = "That emailed code is not right, or it has expired. Check the latest email."


@router.get("/login")
def login_page(
    request: Request,
    pages: PagesDep,
    state: State,
    principal: MaybeUser,
    next_url: NextQuery = "",
    notice_key: Annotated[str, Query(alias="notice")] = "",
    email: str = "",
    rd: str = "",
) -> Response:
    """The sign-in form (a signed-in visitor goes straight on); ``rd``: an app to return to."""
    next_url = sso.next_for(state, rd, next_url)
    if principal is not None and principal.session.purpose == "full":
        return pages.redirect(safe_next(next_url))
    values = {
        "next": safe_next(next_url, ""),
        "notice": notice(notice_key),
        "email": email[:254],
        "first_sign_in": notice_key == "verified",  # a new user is not greeted "welcome back"
    }
    return pages.render(request, "login.html", values)


@router.post("/login")
def login_submit(
    request: Request,
    _: CsrfChecked,
    pages: PagesDep,
    state: State,
    origin: RequestOrigin,
    email: TextField = "",
    password: TextField = "",
    next_url: NextField = "",
) -> Response:
    """The password step; the same answer for unknown addresses and wrong passwords."""
    values = {"email": email[:254], "next": safe_next(next_url, "")}
    try:
        token = device_token(request, pages)  # a remembered browser skips the code step
        result = flows.sign_in(state, origin, email, password, token)
    except TooManyAttempts as exc:
        if not exc.locked:
            return form_error(pages, request, "login.html", values, exc)
        locked = {**values, **lock_values(state, exc.retry_after, kind="password")}
        headers = {"Retry-After": str(exc.retry_after)}
        return pages.render(request, "login.html", locked, status=429, headers=headers)
    except TwostepError as exc:
        return form_error(pages, request, "login.html", values, exc)
    return finish_sign_in(pages, state, result, next_url)


def pending_challenge(request: Request, pages: PagesDep, state: State) -> PendingChallenge | None:
    pending = PendingChallenge.from_request(request, pages.cookies)
    now = state.ctx.clock.now().timestamp()
    return pending if pending is not None and pending.expires_at > now else None


def expired(pages: PagesDep, next_url: str) -> Response:
    response = pages.redirect(with_next("/login", next_url) + _notice_suffix(next_url))
    pages.cookies.clear(response, pages.cookies.challenge)
    return response


def _notice_suffix(next_url: str) -> str:
    return ("&" if safe_next(next_url, "") else "?") + "notice=expired"


def two_factor_values(
    pending: PendingChallenge, state: State, method: str, next_url: str
) -> dict[str, object]:
    remaining = pending.expires_at - int(state.ctx.clock.now().timestamp())
    use_backup = method == "backup" and pending.backup_allowed
    methods, key_options = keys.login_choices(state.ctx, pending.challenge_id)
    return {
        "method": "backup" if use_backup else "totp",
        "webauthn_options": key_options,
        "has_app": "totp" in methods or not methods,
        "remember_days": state.ctx.settings.remember_days,
        "backup_allowed": pending.backup_allowed,
        "remaining": max(0, remaining),
        "next": safe_next(next_url, ""),
        "digits": state.ctx.provider.params.digits,
    }


def _locked_page(
    request: Request,
    pages: PagesDep,
    state: State,
    values: dict[str, object],
    seconds: int,
    pending: PendingChallenge,
) -> Response:
    """The code step of a locked account: no form, when it unlocks, and the ways out."""
    lock = lock_values(state, seconds, kind="otp", backup_allowed=pending.backup_allowed)
    headers = {"Retry-After": str(seconds)}
    return pages.render(request, "login_2fa.html", {**values, **lock}, status=429, headers=headers)


@router.get("/login/2fa")
def two_factor_page(
    request: Request,
    pages: PagesDep,
    state: State,
    next_url: NextQuery = "",
    method: str = "totp",
) -> Response:
    """The code step of a sign-in: one field, a countdown, and the backup-code way out."""
    pending = pending_challenge(request, pages, state)
    if pending is None:
        return expired(pages, next_url)
    values = two_factor_values(pending, state, method, next_url)
    locked = login.challenge_lock(state.ctx, pending.challenge_id)
    if locked:
        return _locked_page(request, pages, state, values, locked, pending)
    return pages.render(request, "login_2fa.html", values)


@router.post("/login/2fa")
def two_factor_submit(
    request: Request,
    _: CsrfChecked,
    pages: PagesDep,
    state: State,
    origin: RequestOrigin,
    code: TextField = "",
    backup_code: TextField = "",
    method: TextField = "totp",
    remember: TextField = "",
    next_url: NextField = "",
) -> Response:
    """Complete the challenge with an authenticator code or a backup code."""
    pending = pending_challenge(request, pages, state)
    if pending is None:
        return expired(pages, next_url)
    values = two_factor_values(pending, state, method, next_url)
    totp_code, backup = factor_values(str(values["method"]), code, backup_code)
    try:
        if totp_code is None and backup is None:
            raise InvalidInput("code", "Enter the code from your authenticator app.")
        check_code_length(totp_code, int(str(values["digits"])))
        issued = flows.complete_sign_in(
            state, origin, pending.challenge_id, code=totp_code, backup_code=backup
        )
    except ChallengeExpired:
        return expired(pages, next_url)
    except TooManyAttempts as exc:
        if not exc.locked:
            return form_error(pages, request, "login_2fa.html", values, exc)
        return _locked_page(request, pages, state, values, exc.retry_after, pending)
    except TwostepError as exc:
        return form_error(pages, request, "login_2fa.html", values, exc)
    if "backup" in issued.session.amr and not next_url:  # say how many codes are left
        next_url = "/account?notice=backup-used"
    response = finish_sign_in(pages, state, issued, next_url)
    return remember_if_asked(pages, state, origin, response, issued, remember)


@router.get("/login/email")
def email_code_page(request: Request, pages: PagesDep, email: str = "") -> Response:
    """Ask for a sign-in code by email (a first step; 2FA still follows)."""
    return pages.render(request, "login_email.html", {"email": email[:254], "sent": False})


@router.post("/login/email")
def email_code_request(
    request: Request,
    _: CsrfChecked,
    pages: PagesDep,
    state: State,
    origin: RequestOrigin,
    email: TextField = "",
) -> Response:
    """Send a sign-in code; the same answer whether or not the address has an account."""
    return send_email_code(request, pages, state, origin, email, "sign_in", "login_email.html")


@router.post("/login/email/code")
def email_code_submit(
    request: Request,
    _: CsrfChecked,
    pages: PagesDep,
    state: State,
    origin: RequestOrigin,
    email: TextField = "",
    code: TextField = "",
) -> Response:
    """Sign in with the emailed code: a session, or the 2FA step when the account has it."""
    values = {"email": email.strip()[:254], "sent": True}
    try:
        result = flows.sign_in_with_email_code(state, origin, email, "".join(code.split()))
    except InvalidCode as exc:
        named = exc if exc.reason is not None else InvalidCode(EMAILED_CODE_WRONG, reason="wrong")
        return form_error(pages, request, "login_email.html", values, named)
    except TwostepError as exc:
        return form_error(pages, request, "login_email.html", values, exc)
    return finish_sign_in(pages, state, result, None)


@router.get("/logout")
def logout_page(request: Request, pages: PagesDep, principal: MaybeUser) -> Response:
    """Typed into the address bar: ask, since signing out is a POST."""
    if principal is None:
        return pages.redirect("/login")
    return pages.render(request, "logout.html", principal=principal)


@router.post("/logout")
def logout(
    _: CsrfChecked,
    pages: PagesDep,
    state: State,
    origin: RequestOrigin,
    principal: MaybeUser,
) -> Response:
    """End the session on the server, then forget the cookie."""
    if principal is not None:
        with suppress(NotFound):  # already ended elsewhere
            sessions.revoke(state.ctx, principal, principal.session.id, origin)
    response = pages.redirect("/login?notice=signed-out")
    state.sso_cookie.clear(response)
    pages.cookies.clear(response, pages.cookies.session)
    pages.cookies.clear(response, pages.cookies.challenge)
    pages.renew_csrf(response)
    return response
