"""FastAPI dependencies as ``Annotated`` aliases: the context, the caller, the principal.

The service's own endpoints trust an access token only as far as its session: the token
names a session (``sid``), and that session must be live in the database on every request.
Logout, a password reset or an admin action therefore ends a token at once.

Dependencies that only compute (the state, the origin, the token's signature) are ``async``:
they run on the event loop, so a request pays no thread hand-off for them. Only the read of
the session, which touches the database, runs in the thread pool.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from twostep.errors import (
    TooManyAttempts,
    TwostepError,
    Unauthenticated,
)
from twostep.security.tokens import AccessClaims
from twostep.services import sessions
from twostep.services.access import AccessRules
from twostep.services.context import Channel, Context, Origin
from twostep.web.client_ip import Network, client_ip
from twostep.web.metrics import Metrics
from twostep.web.ratelimit import RateLimits
from twostep.web.sso_cookie import SsoCookie
from twostep.web.tokens import TokenService


@dataclass(slots=True)
class WebState:
    """Everything the routes of one app share."""

    ctx: Context
    tokens: TokenService
    limits: RateLimits
    metrics: Metrics
    trusted_proxies: tuple[Network, ...]
    access_rules: AccessRules = field(default_factory=AccessRules)
    sso_cookie: SsoCookie = field(default_factory=lambda: SsoCookie(None, secure=True))

    @contextmanager
    def count(self, flow: str) -> Iterator[None]:
        """Count a second-factor verification of ``flow`` by its outcome."""
        try:
            yield
        except TooManyAttempts:
            self.metrics.verifications.labels(flow, "locked").inc()
            self.metrics.lockouts.labels(flow).inc()
            raise
        except TwostepError:
            self.metrics.verifications.labels(flow, "failure").inc()
            raise
        self.metrics.verifications.labels(flow, "success").inc()


async def get_state(request: Request) -> WebState:
    state: WebState = request.app.state.twostep
    return state


State = Annotated[WebState, Depends(get_state)]


async def get_context(state: State) -> Context:
    return state.ctx


Ctx = Annotated[Context, Depends(get_context)]


async def get_origin(request: Request, state: State) -> Origin:
    """The client address (trusted proxies only), user agent, and channel of a request.

    The JSON API under ``/api/`` is the ``api`` channel; everything else is a page.
    """
    peer = request.client.host if request.client else None
    ip = client_ip(peer, request.headers.get("x-forwarded-for"), state.trusted_proxies)
    channel: Channel = "api" if request.url.path.startswith("/api/") else "page"
    user_agent = request.headers.get("user-agent", "")[:512] or None
    return Origin(ip=ip, user_agent=user_agent, channel=channel)


RequestOrigin = Annotated[Origin, Depends(get_origin)]

bearer = HTTPBearer(auto_error=False, description="An access token from /auth/login.")


async def get_claims(
    state: State,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> AccessClaims:
    """The verified claims of the bearer access token (signature, expiry, audience)."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthenticated()
    return state.tokens.verify(credentials.credentials)


Claims = Annotated[AccessClaims, Depends(get_claims)]
"""A verified access token whose session is not read yet: for an ``async`` endpoint that reads
it with :func:`principal_of`, or hands :func:`holder_of` to a service that reads it inside its own
transaction, within its one thread hand-off (the verify hot path)."""


def holder_of(claims: AccessClaims) -> sessions.TokenHolder:
    """The session and user verified ``claims`` name (nothing read yet)."""
    return sessions.TokenHolder(session_id=claims.sid, user_id=claims.sub)


def principal_of(state: WebState, claims: AccessClaims) -> sessions.Principal:
    """The caller behind verified ``claims`` whose session is still live (reads the database)."""
    return sessions.resolve_holder(state.ctx, holder_of(claims))


def get_principal(state: State, claims: Claims) -> sessions.Principal:
    """The caller behind a valid access token whose session is still live."""
    return principal_of(state, claims)


AnyPrincipal = Annotated[sessions.Principal, Depends(get_principal)]
"""Any live session, including one limited to enrolling a second factor."""


def get_optional_principal(
    state: State,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> sessions.Principal | None:
    """The caller when a bearer token is sent (and must then be valid); ``None`` without one."""
    if credentials is None:
        return None
    if credentials.scheme.lower() != "bearer":
        raise Unauthenticated()
    return principal_of(state, state.tokens.verify(credentials.credentials))


OptionalPrincipal = Annotated[sessions.Principal | None, Depends(get_optional_principal)]


async def get_full_principal(principal: AnyPrincipal) -> sessions.Principal:
    sessions.require_full(principal)
    return principal


CurrentPrincipal = Annotated[sessions.Principal, Depends(get_full_principal)]
"""A live, full session (2FA completed where the account has it)."""


async def get_admin(principal: CurrentPrincipal) -> sessions.Principal:
    """An administrator whose session proved a second factor (403 ``MISSING_CLAIM`` if not)."""
    sessions.require_admin(principal)
    return principal


AdminPrincipal = Annotated[sessions.Principal, Depends(get_admin)]
