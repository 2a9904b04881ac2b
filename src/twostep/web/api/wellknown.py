"""Keys and token introspection for the apps that rely on this service."""

from __future__ import annotations

import base64
import hmac
from typing import Annotated, Any

from fastapi import APIRouter, Form, Header

from twostep.errors import TwostepError, Unauthenticated
from twostep.services import sessions
from twostep.web import schemas
from twostep.web.api.routing import EDGE_ERRORS, ApiRoute
from twostep.web.deps import State

router = APIRouter(tags=["tokens"], route_class=ApiRoute, responses=EDGE_ERRORS)


@router.get("/.well-known/jwks.json")
def jwks(state: State) -> dict[str, Any]:
    """The public keys that verify access tokens (old keys stay until their tokens expire)."""
    return state.tokens.jwks()


def _client_ok(state: State, authorization: str | None) -> bool:
    settings = state.ctx.settings
    secret = settings.introspection_client_secret
    if secret is None or not authorization or not authorization.lower().startswith("basic "):
        return False
    try:
        decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        return False
    client_id, _, client_secret = decoded.partition(":")
    id_ok = hmac.compare_digest(client_id.encode(), settings.introspection_client_id.encode())
    secret_ok = hmac.compare_digest(client_secret.encode(), secret.get_secret_value().encode())
    return id_ok and secret_ok


@router.post("/introspect", response_model_exclude_none=True)
def introspect(
    state: State,
    token: Annotated[str, Form(max_length=4096, pattern=schemas.PRINTABLE)],
    authorization: Annotated[str | None, Header()] = None,
) -> schemas.Introspection:
    """RFC 7662: is this access token active right now (signed, unexpired, session live)?

    Clients authenticate with HTTP Basic (``TWOSTEP_INTROSPECTION_CLIENT_ID`` / ``_SECRET``).
    """
    if not _client_ok(state, authorization):
        raise Unauthenticated("Introspection needs client credentials.")
    try:
        claims = state.tokens.verify(token)
        principal = sessions.resolve(state.ctx, claims.sid)
    except TwostepError:
        return schemas.Introspection(active=False)
    if principal.user.id != claims.sub:
        return schemas.Introspection(active=False)
    return schemas.Introspection(
        active=True,
        sub=claims.sub,
        sid=claims.sid,
        exp=claims.exp,
        iat=claims.iat,
        amr=list(claims.amr),
        acr=claims.acr,
        second_factor_time=claims.second_factor_time,
        purpose=claims.purpose,
        elevated_until=claims.elevated_until,
        token_type="Bearer",
        aud=claims.aud,
        iss=claims.iss,
    )
