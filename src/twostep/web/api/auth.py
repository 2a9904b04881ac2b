"""Sign-in, sign-up, step-up and recovery endpoints (``/api/v1/auth/...``)."""

from __future__ import annotations

from fastapi import APIRouter, Response, status
from starlette.concurrency import run_in_threadpool

from twostep.services import login, refresh, remembered, reset, sessions
from twostep.services import webauthn as keys
from twostep.web import flows, schemas
from twostep.web.api.routing import EDGE_ERRORS, ApiRoute
from twostep.web.deps import (
    AnyPrincipal,
    Claims,
    OptionalPrincipal,
    RequestOrigin,
    State,
    holder_of,
)

router = APIRouter(prefix="/auth", tags=["auth"], route_class=ApiRoute, responses=EDGE_ERRORS)

LoginAnswer = schemas.TokenResponse | schemas.ChallengeResponse


def _answer(state: State, result: login.LoginResult | sessions.IssuedSession) -> LoginAnswer:
    if isinstance(result, login.ChallengeIssued):
        with_key = keys.METHOD in result.methods
        return schemas.ChallengeResponse(
            challenge_id=result.challenge_id,
            methods=list(result.methods),
            expires_in=result.expires_in,
            webauthn_options=keys.login_options(state.ctx, result.challenge_id)
            if with_key
            else None,
        )
    return state.tokens.token_response(result)


@router.post("/register", status_code=status.HTTP_201_CREATED)
def register(body: schemas.Credentials, state: State, origin: RequestOrigin) -> schemas.Registered:
    """Create an account; the same answer whether or not the address is already taken."""
    result = flows.register(state, origin, body.email, body.password)
    return schemas.Registered(expires_in=result.expires_in)


@router.post("/email/verify")
def verify_email(
    body: schemas.EmailVerify, state: State, origin: RequestOrigin, principal: OptionalPrincipal
) -> schemas.Verified:
    """Verify an address with the emailed code (``email`` + ``code``) or link ``token``.

    The address is bound only for the holder of the account's password: send a bearer token
    of the account, or ``password``. Someone who never signed up takes the address over with
    a password reset instead.
    """
    done = flows.verify_email(
        state, origin, email=body.email, code=body.code, token=body.token,
        password=body.password, principal=principal,
    )  # fmt: skip
    return schemas.Verified(email=done.email)


@router.post("/login")
def sign_in(body: schemas.LoginBody, state: State, origin: RequestOrigin) -> LoginAnswer:
    """The password step: tokens, or a 2FA challenge to complete at ``/auth/login/verify``.

    With a valid ``device_token`` (a remembered device) the password alone completes the
    sign-in; the session's ``amr`` then says ``remembered``, which is not a second factor.
    """
    answer = flows.sign_in(state, origin, body.email, body.password, body.device_token)
    return _answer(state, answer)


@router.post("/login/verify")
async def verify_login(
    body: schemas.LoginVerify, state: State, origin: RequestOrigin
) -> schemas.VerifiedTokenResponse:
    """Complete a login challenge with an authenticator code, a backup code or a security key.

    With ``remember_device`` the answer carries a ``device_token`` for the next sign-ins.
    """

    def complete() -> schemas.VerifiedTokenResponse:  # the verify hot path: one hand-off
        issued = flows.complete_sign_in(
            state, origin, body.challenge_id, code=body.code, backup_code=body.backup_code,
            webauthn=body.webauthn.as_json() if body.webauthn is not None else None,
        )  # fmt: skip
        tokens = state.tokens.token_response(issued)
        device_token = None
        if body.remember_device:
            device_token = remembered.remember(state.ctx, issued.session, origin).token
        return schemas.VerifiedTokenResponse(**tokens.model_dump(), device_token=device_token)

    return await run_in_threadpool(complete)


@router.post("/email-code/request", status_code=status.HTTP_202_ACCEPTED)
def request_email_code(
    body: schemas.EmailCodeRequest, state: State, origin: RequestOrigin
) -> schemas.CodeSent:
    """Email a one-time code (same answer for unknown addresses)."""
    sent = flows.request_email_code(state, origin, body.email, body.purpose)
    return schemas.CodeSent(expires_in=sent.expires_in, resend_after=sent.resend_after)


@router.post("/email-code/verify")
def verify_email_code(
    body: schemas.EmailCodeVerify, state: State, origin: RequestOrigin
) -> LoginAnswer | schemas.Verified:
    """Use an emailed code: proves the address, or signs in (never replacing 2FA)."""
    if body.purpose == "verify":
        done = flows.verify_address_code(state, origin, body.email, body.code)
        return schemas.Verified(email=done.email)
    return _answer(state, flows.sign_in_with_email_code(state, origin, body.email, body.code))


@router.post("/refresh")
def refresh_tokens(
    body: schemas.RefreshBody, state: State, origin: RequestOrigin
) -> schemas.TokenResponse:
    """Trade a refresh token for new tokens; a reused refresh token ends its family."""
    return state.tokens.token_response(refresh.rotate(state.ctx, body.refresh_token, origin))


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(principal: AnyPrincipal, state: State, origin: RequestOrigin) -> Response:
    """End the current session: its access and refresh tokens stop working at once."""
    sessions.revoke(state.ctx, principal, principal.session.id, origin)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/elevate")
async def elevate(
    body: schemas.ElevateBody, claims: Claims, state: State, origin: RequestOrigin
) -> schemas.ElevationResponse:
    """Step up with a fresh factor: an elevated access token for sensitive operations.

    Accounts with 2FA send ``code``, ``backup_code`` or ``webauthn`` (after
    ``/auth/elevate/options``); accounts without it, ``password``.
    """

    def step_up() -> schemas.ElevationResponse:  # the verify hot path: one thread hand-off
        granted = flows.step_up_session(  # reads the session in the step-up's transaction
            state, origin, holder_of(claims),
            code=body.code, backup_code=body.backup_code, password=body.password,
            webauthn=body.webauthn.as_json() if body.webauthn is not None else None,
        )  # fmt: skip
        token = state.tokens.issue(granted.user, granted.session)
        return schemas.ElevationResponse(
            access_token=token.token,
            expires_in=granted.expires_in,
            elevated_until=granted.elevated_until,
        )

    return await run_in_threadpool(step_up)


@router.post("/password/forgot", status_code=status.HTTP_202_ACCEPTED)
def forgot_password(
    body: schemas.ForgotPassword, state: State, origin: RequestOrigin
) -> schemas.Accepted:
    """Email a reset link if the account exists; always the same answer."""
    flows.forgot_password(state, origin, body.email)
    return schemas.Accepted()


@router.post("/password/reset/check")
def reset_info(
    body: schemas.ResetCheck, state: State, origin: RequestOrigin
) -> schemas.ResetInfoResponse:
    """Whether completing this reset needs an authenticator or backup code.

    A POST, so the token never sits in a URL that proxies and access logs record.
    """
    info = reset.reset_status(state.ctx, body.token)
    ceremony = None
    if keys.METHOD in info.methods:
        ceremony = reset.key_options(state.ctx, body.token, origin)
    return schemas.ResetInfoResponse(
        requires_code=info.requires_code,
        methods=list(info.methods),
        webauthn_options=ceremony.options if ceremony is not None else None,
    )


@router.post(
    "/password/reset",
    response_model=schemas.TokenResponse,
    responses={
        200: {"description": "Reset with a code: the owner is signed in, elevated."},
        204: {"description": "Reset by link alone (no second factor): sign in again."},
    },
)
def reset_password(
    body: schemas.ResetPassword, state: State, origin: RequestOrigin
) -> schemas.TokenResponse | Response:
    """Set a new password with the emailed token plus a code when the account has 2FA.

    Every earlier session ends. A reset that proved a second factor (``code`` or
    ``backup_code``) answers 200 with tokens of a new session, elevated for
    ``ELEVATION_MINUTES`` like any sign-in with a second factor; a reset by link alone
    answers 204 and the owner signs in with the new password.
    """
    issued = flows.reset_password(
        state, origin, body.token, body.new_password,
        code=body.code, backup_code=body.backup_code,
        webauthn=body.webauthn.as_json() if body.webauthn is not None else None,
    )  # fmt: skip
    if issued is None:
        return Response(status_code=status.HTTP_204_NO_CONTENT)
    return state.tokens.token_response(issued)
