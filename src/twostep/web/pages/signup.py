"""Creating an account: registration with live password advice, and email verification.

Registration answers a free and a taken address alike (the service sends mail only for a
new account), so the next page always says "check your inbox". Verification works with the
6-digit code or the emailed link; neither signs anyone in. Either binds the address only for
the holder of the account's password (DESIGN §4.13): signed in as the account, it confirms
at once; otherwise the form also asks for the password, and offers the reset that lets the
address's owner take over an account someone else registered.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from starlette.responses import JSONResponse, Response

from twostep.errors import InvalidCode, InvalidInput, TwostepError
from twostep.services import accounts, password_policy
from twostep.web import flows
from twostep.web.deps import RequestOrigin, State
from twostep.web.pages.csrf import CsrfChecked
from twostep.web.pages.deps import MaybeUser, PagesDep
from twostep.web.pages.flow import form_error, send_email_code
from twostep.web.pages.routing import PageRoute
from twostep.web.schemas import parse_json

router = APIRouter(route_class=PageRoute, include_in_schema=False)
advice_router = APIRouter(include_in_schema=False)

TextField = Annotated[str, Form()]

WRONG_EMAIL_CODE = (
    "That code didn't work. Check the code in your email and try again, or ask for a new one below."
)
USED_LINK = "This link was already used or has expired."


def _in_email_terms(exc: TwostepError) -> TwostepError:
    """A wrong code here came by email, not from an authenticator app: say so."""
    if isinstance(exc, InvalidCode) and exc.message == exc.default_message:
        return InvalidCode(WRONG_EMAIL_CODE, reason=exc.reason, attempts_left=exc.attempts_left)
    if isinstance(exc, InvalidCode) and "link" in exc.message:
        return InvalidCode(USED_LINK, reason=exc.reason)
    return exc


@router.get("/register")
def register_page(request: Request, pages: PagesDep) -> Response:
    """The sign-up form."""
    return pages.render(request, "register.html", {"email": ""})


@router.post("/register")
def register_submit(
    request: Request,
    _: CsrfChecked,
    pages: PagesDep,
    state: State,
    origin: RequestOrigin,
    email: TextField = "",
    password: TextField = "",
) -> Response:
    """Create the account; then ask for the code that was mailed."""
    values = {"email": email.strip()[:254]}
    try:
        result = flows.register(state, origin, email, password)
    except TwostepError as exc:
        return form_error(pages, request, "register.html", values, exc)
    return pages.redirect("/verify-email?" + urlencode({"email": result.email, "sent": "1"}))


def _after_verification(state: State, principal: MaybeUser, email: str) -> str:
    """Signed in: on to the setup the deployment asks for, or the account; else sign in."""
    if principal is None:
        return "/login?" + urlencode({"notice": "verified", "email": email})
    settings = state.ctx.settings
    if principal.session.purpose != "full" or settings.enroll_at_registration:
        return "/enroll?notice=email-verified"
    return "/account?notice=email-verified"


@router.get("/verify-email")
def verify_email_page(
    request: Request,
    pages: PagesDep,
    state: State,
    origin: RequestOrigin,
    principal: MaybeUser,
    email: str = "",
    token: str = "",
    sent: str = "",
    notice: str = "",
) -> Response:
    """Enter the emailed code; or, from the emailed link, confirm at once."""
    if not email and principal is not None and principal.user.email_verified_at is None:
        email = principal.user.email
    values: dict[str, object] = {
        "verify_first": notice == "verify-first",
        "email": email.strip()[:254],
        "sent": sent == "1",
        "ask_password": principal is None,
    }
    if token:
        values.update(token=token[:512], sent=False)
        try:
            values["email"] = accounts.verification_link_email(state.ctx, token[:512])
            if principal is None:  # the password is asked first; a GET spends nothing
                return pages.render(request, "verify_email.html", values)
            done = accounts.verify_email_link(state.ctx, token[:512], origin, principal=principal)
        except InvalidInput as exc:  # signed in as another account: ask for the password
            values["ask_password"] = True
            return form_error(pages, request, "verify_email.html", values, exc, principal=principal)
        except TwostepError as exc:
            values.pop("token")
            if principal is not None and principal.user.email_verified_at is not None:
                values["already_verified"] = True
            values["used_link"] = True
            response = form_error(
                pages, request, "verify_email.html", values, _in_email_terms(exc),
                principal=principal,
            )  # fmt: skip
            response.status_code = 400
            return response
        return pages.redirect(_after_verification(state, principal, done.email))
    return pages.render(request, "verify_email.html", values, principal=principal)


@router.post("/verify-email")
def verify_email_submit(
    request: Request,
    _: CsrfChecked,
    pages: PagesDep,
    state: State,
    origin: RequestOrigin,
    principal: MaybeUser,
    email: TextField = "",
    code: TextField = "",
    token: TextField = "",
    password: TextField = "",
) -> Response:
    """Confirm the address with the 6-digit code, or the link's token, and the password."""
    values: dict[str, object] = {
        "email": email.strip()[:254],
        "sent": False,
        "token": token[:512],
        "ask_password": principal is None or bool(password),
    }
    proof = password[:1024] or None
    try:
        done = flows.verify_email(
            state, origin, email=email, code="".join(code.split()), token=token[:512],
            password=proof, principal=principal,
        )  # fmt: skip
    except TwostepError as exc:
        if isinstance(exc, InvalidInput) and exc.field == "password":
            values["ask_password"] = True
        exc = _in_email_terms(exc)
        return form_error(pages, request, "verify_email.html", values, exc, principal=principal)
    return pages.redirect(_after_verification(state, principal, done.email))


@router.post("/verify-email/resend")
def verify_email_resend(
    request: Request,
    _: CsrfChecked,
    pages: PagesDep,
    state: State,
    origin: RequestOrigin,
    email: TextField = "",
) -> Response:
    """Mail a new code (the old one stops working); the same answer for every address."""
    return send_email_code(request, pages, state, origin, email, "verify", "verify_email.html")


@advice_router.post("/password-advice")
async def password_advice(request: Request) -> JSONResponse:
    """Live guidance for a new password (the server still decides on submit).

    Takes ``{"password": …, "email": …}`` as JSON and keeps nothing; POST, so the password
    never lands in a URL or an access log.
    """
    try:
        body = parse_json(await request.body() or b"{}")
    except ValueError:
        body = None
    if not isinstance(body, dict) or not isinstance(body.get("password", ""), str):
        return JSONResponse({"error": "Send a JSON object."}, 400)
    email = body.get("email")
    advice = password_policy.assess(
        body.get("password", ""), email=email if isinstance(email, str) else None
    )
    return JSONResponse(
        {
            "acceptable": advice.acceptable,
            "problem": advice.problem,
            "recommended_length_met": advice.recommended_length_met,
            "min_length": password_policy.MIN_LENGTH,
            "recommended_length": password_policy.RECOMMENDED_LENGTH,
        },
        headers={"cache-control": "no-store"},
    )
