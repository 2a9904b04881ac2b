"""Security keys, passkeys and remembered browsers in the JSON API.

``/2fa/webauthn/register/...`` adds a key (elevated when the account has a factor, like an
app); ``/auth/elevate/options`` and ``/auth/passkey/...`` start and finish the ceremonies
that have no login challenge of their own; ``/2fa/remembered-browsers`` lists and forgets
the browsers that skip the code step. A key's answer is the browser's
``PublicKeyCredential.toJSON()``; every one that does not verify is ``401 INVALID_CODE``.
"""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from twostep.services import assertions, passkeys, remembered
from twostep.services import webauthn as keys
from twostep.services.devices import DeviceInfo
from twostep.web import flows, schemas
from twostep.web.api.routing import EDGE_ERRORS, ApiRoute
from twostep.web.deps import AnyPrincipal, CurrentPrincipal, RequestOrigin, State

router = APIRouter(tags=["webauthn"], route_class=ApiRoute, responses=EDGE_ERRORS)


@router.post("/2fa/webauthn/register/options")
def register_options(
    principal: AnyPrincipal, state: State, origin: RequestOrigin
) -> schemas.WebAuthnOptions:
    """Start adding a security key or passkey: options for ``navigator.credentials.create``."""
    ceremony = keys.registration_options(state.ctx, principal, origin)
    return schemas.WebAuthnOptions(challenge_id=ceremony.challenge_id, options=ceremony.options)


@router.post("/2fa/webauthn/register/verify", status_code=status.HTTP_201_CREATED)
def register_verify(
    body: schemas.KeyRegistration, principal: AnyPrincipal, state: State, origin: RequestOrigin
) -> schemas.RegisteredKey:
    """Store the key the browser created; backup codes come back once, on a first factor."""
    with state.count("enroll"):
        added = keys.register(state.ctx, principal, body.credential.as_json(), body.name, origin)
    info = DeviceInfo.of_key(added.credential)
    return schemas.RegisteredKey(
        id=info.id, name=info.name, type="webauthn", status=info.status,
        created_at=info.created_at, confirmed_at=info.confirmed_at,
        last_used_at=info.last_used_at, backup_codes=added.backup_codes,
    )  # fmt: skip


@router.post("/auth/elevate/options")
def elevate_options(
    principal: CurrentPrincipal, state: State, origin: RequestOrigin
) -> schemas.WebAuthnOptions:
    """Options for stepping up with a security key; answer at ``/auth/elevate``."""
    ceremony = assertions.elevate_options(state.ctx, principal, origin)
    return schemas.WebAuthnOptions(challenge_id=ceremony.challenge_id, options=ceremony.options)


@router.post("/auth/passkey/options")
def passkey_options(state: State, origin: RequestOrigin) -> schemas.WebAuthnOptions:
    """Start a passkey sign-in: a single-use challenge and its request options."""
    flows.limit_passkey_options(state, origin)
    ceremony = passkeys.options(state.ctx)
    return schemas.WebAuthnOptions(challenge_id=ceremony.challenge_id, options=ceremony.options)


@router.post("/auth/passkey/verify")
def passkey_verify(
    body: schemas.PasskeyVerify, state: State, origin: RequestOrigin
) -> schemas.TokenResponse:
    """Sign in with a passkey that verified its user: two factors, no password."""
    issued = flows.sign_in_with_passkey(state, origin, body.challenge_id, body.credential.as_json())
    return state.tokens.token_response(issued)


@router.get("/2fa/remembered-browsers")
def list_browsers(principal: CurrentPrincipal, state: State) -> list[schemas.RememberedBrowser]:
    """The browsers that skip the code step, newest first."""
    found = remembered.list_browsers(state.ctx, principal)
    return [schemas.RememberedBrowser.model_validate(b) for b in found]


@router.delete("/2fa/remembered-browsers/{browser_id}", status_code=status.HTTP_204_NO_CONTENT)
def forget_browser(
    browser_id: schemas.PathId, principal: CurrentPrincipal, state: State, origin: RequestOrigin
) -> Response:
    """Forget one browser: it is asked for a code again."""
    remembered.forget(state.ctx, principal, browser_id, origin)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.delete("/2fa/remembered-browsers", status_code=status.HTTP_204_NO_CONTENT)
def forget_browsers(principal: CurrentPrincipal, state: State, origin: RequestOrigin) -> Response:
    """Forget every remembered browser."""
    remembered.forget_all(state.ctx, principal, origin)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
