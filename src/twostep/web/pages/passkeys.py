"""Security keys and passkeys in the pages, and the remembered-browser cookie.

Each ceremony runs in the browser (``static/webauthn.js``): the page puts the options in
the form, the script asks the authenticator and posts its answer as JSON in the
``credential`` field, and the handlers here hand it to the same flows as the API. Every
answer is read through :class:`~twostep.web.schemas.WebAuthnCredential`, so a malformed one
is a form error, never a 500.

* ``POST /login/passkey``: sign in with a passkey alone;
* ``POST /login/2fa/key``: answer the login challenge with a security key;
* ``POST /step-up/key``: step up with a security key;
* ``GET|POST /account/security-keys``: add a security key or passkey;
* ``POST /account/browsers/...``: forget one or every remembered browser.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from pydantic import ValidationError
from starlette.responses import Response

from twostep.errors import ChallengeExpired, InvalidInput, TwostepError
from twostep.services import refresh, remembered, sessions
from twostep.services import webauthn as keys
from twostep.web import flows
from twostep.web.deps import RequestOrigin, State
from twostep.web.pages import signin, step_up
from twostep.web.pages.account import render_account
from twostep.web.pages.csrf import CsrfChecked
from twostep.web.pages.deps import FullUser, PagesDep, SignedIn, session_token, step_up_first
from twostep.web.pages.enroll import backup_codes_page
from twostep.web.pages.flow import finish_sign_in, form_error, start_session
from twostep.web.pages.remember import remember_if_asked
from twostep.web.pages.routing import PageRoute, safe_next
from twostep.web.schemas import WebAuthnCredential, parse_json

router = APIRouter(route_class=PageRoute, include_in_schema=False)

TextField = Annotated[str, Form()]
NextField = Annotated[str, Form(alias="next")]
MAX_CREDENTIAL = 32_768
NO_ANSWER = "The security key's answer did not arrive. Try again."


def read_credential(value: str) -> dict[str, Any]:
    """The browser's answer from a form field, checked like an API body."""
    try:
        if not value or len(value) > MAX_CREDENTIAL:
            raise ValueError("empty or too long")
        return WebAuthnCredential.model_validate(parse_json(value.encode())).as_json()
    except (ValueError, ValidationError):
        raise InvalidInput(
            "webauthn", "The security key's answer did not arrive. Try again."
        ) from None


@router.post("/login/passkey")
def passkey_sign_in(
    request: Request,
    _: CsrfChecked,
    pages: PagesDep,
    state: State,
    origin: RequestOrigin,
    challenge_id: TextField = "",
    credential: TextField = "",
    next_url: NextField = "",
) -> Response:
    """Sign in with a passkey that verified its user: no password, no code."""
    values = {"email": "", "next": safe_next(next_url, "")}
    try:
        answer = read_credential(credential)
        issued = flows.sign_in_with_passkey(state, origin, challenge_id[:64], answer)
    except TwostepError as exc:
        return form_error(pages, request, "login.html", values, exc)
    return finish_sign_in(pages, state, issued, next_url)


@router.post("/login/2fa/key")
def two_factor_key(
    request: Request,
    _: CsrfChecked,
    pages: PagesDep,
    state: State,
    origin: RequestOrigin,
    credential: TextField = "",
    remember: TextField = "",
    next_url: NextField = "",
) -> Response:
    """Answer the login challenge with a security key."""
    pending = signin.pending_challenge(request, pages, state)
    if pending is None:
        return signin.expired(pages, next_url)
    values = signin.two_factor_values(pending, state, "totp", next_url)
    try:
        answer = read_credential(credential)
        issued = flows.complete_sign_in(
            state, origin, pending.challenge_id, code=None, backup_code=None, webauthn=answer
        )
    except ChallengeExpired:
        return signin.expired(pages, next_url)
    except TwostepError as exc:
        return form_error(pages, request, "login_2fa.html", values, exc)
    response = finish_sign_in(pages, state, issued, next_url)
    return remember_if_asked(pages, state, origin, response, issued, remember)


@router.post("/step-up/key")
def step_up_key(
    request: Request,
    _: CsrfChecked,
    pages: PagesDep,
    state: State,
    origin: RequestOrigin,
    principal: FullUser,
    credential: TextField = "",
    next_url: NextField = "",
) -> Response:
    """Elevate the session with a security key; then ``next``."""
    try:
        answer = read_credential(credential)
        flows.step_up_session(state, origin, principal, webauthn=answer)
        renewed = refresh.rotate(state.ctx, session_token(request, pages) or "", origin)
    except TwostepError as exc:
        values = step_up.step_up_values(state, principal, next_url, "totp", origin)
        return form_error(pages, request, "step_up.html", values, exc, principal=principal)
    return start_session(pages, state, renewed, safe_next(next_url))


def _new_key_values(
    state: State, principal: sessions.Principal, origin: RequestOrigin
) -> dict[str, Any]:
    ceremony = keys.registration_options(state.ctx, principal, origin)
    return {"options": ceremony.options, "name": ""}


@router.get("/account/security-keys/new")
def new_key_page(
    request: Request, pages: PagesDep, state: State, origin: RequestOrigin, principal: SignedIn
) -> Response:
    """Add a security key or passkey (after a step-up when the account has a factor).

    A session limited to enrolment may come here too: a key is a first factor like an app.
    """
    if principal.two_factor:
        step_up_first(request, state, principal)
    values = _new_key_values(state, principal, origin)
    return pages.render(request, "security_key_new.html", values, principal=principal)


@router.post("/account/security-keys")
def add_key(
    request: Request,
    _: CsrfChecked,
    pages: PagesDep,
    state: State,
    origin: RequestOrigin,
    principal: SignedIn,
    name: TextField = "",
    credential: TextField = "",
) -> Response:
    """Store the key the browser created; a first factor shows its backup codes once."""
    try:
        answer = read_credential(credential)
        with state.count("enroll"):
            added = keys.register(state.ctx, principal, answer, name[:200], origin)
    except TwostepError as exc:
        values = {**_new_key_values(state, principal, origin), "name": name[:64]}
        return form_error(pages, request, "security_key_new.html", values, exc, principal=principal)
    if added.backup_codes is not None:
        return backup_codes_page(pages, request, added.backup_codes, principal, first=True)
    return pages.redirect("/account?notice=key-added#devices")


@router.post("/account/browsers/{browser_id}/forget")
def forget_browser(
    request: Request,
    browser_id: str,
    _: CsrfChecked,
    pages: PagesDep,
    state: State,
    origin: RequestOrigin,
    principal: FullUser,
) -> Response:
    """Forget one remembered browser: it is asked for a code again."""
    try:
        remembered.forget(state.ctx, principal, browser_id[:64], origin)
    except TwostepError as exc:
        return render_account(pages, request, state, principal, error=exc)
    return pages.redirect("/account?notice=browser-forgotten#browsers")


@router.post("/account/browsers/forget-all")
def forget_browsers(
    _: CsrfChecked, pages: PagesDep, state: State, origin: RequestOrigin, principal: FullUser
) -> Response:
    """Forget every remembered browser."""
    remembered.forget_all(state.ctx, principal, origin)
    return pages.redirect("/account?notice=browsers-forgotten#browsers")
