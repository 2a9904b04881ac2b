"""FastAPI dependencies that protect an app's routes with tokens from a twostep service.

Install one :class:`TwostepAuth` on the app, then declare what each route needs::

    auth = TwostepAuth(TokenVerifier(JWKSClient(url), issuer="twostep", audience="twostep"))
    auth.install(app)

    @app.get("/me")
    def me(user: CurrentUser) -> dict[str, str]: ...

    @app.post("/transfer", dependencies=[Depends(require_elevated(max_age=300))])
    def transfer() -> None: ...

Invariant: the dependencies find the auth object on ``app.state.twostep``, which only
:meth:`TwostepAuth.install` sets, and ``install`` also registers the error handler, so a
refusal always has the ``{"error": {"code", "message"}}`` shape. A route using these without
``install`` fails loudly (500 with a clear message) rather than letting a request through.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.applications import Starlette
from starlette.exceptions import HTTPException

from twostep.errors import TwostepError
from twostep.integrations.policy import Answer, Guard, Rule
from twostep.security.tokens import AccessClaims

__all__ = [
    "CurrentUser",
    "ElevatedUser",
    "TwoFactorUser",
    "TwostepAuth",
    "current_user",
    "require_2fa",
    "require_claim",
    "require_elevated",
]


class Refusal(HTTPException):
    """A 401/403/503 from the integration kit; its handler renders :attr:`answer`."""

    def __init__(self, answer: Answer) -> None:
        super().__init__(answer.status, answer.body["error"]["message"], dict(answer.headers))
        self.answer = answer


def refusal_response(answer: Answer) -> JSONResponse:
    return JSONResponse(answer.body, status_code=answer.status, headers=dict(answer.headers))


async def _handle_refusal(request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, Refusal):  # registered for Refusal only
        raise exc
    return refusal_response(exc.answer)


class TwostepAuth(Guard):
    """A :class:`Guard` bound to a FastAPI app: ``TwostepAuth(verifier, step_up_url=...)``."""

    def install(self, app: Starlette) -> None:
        """Make this module's dependencies (and the decorators) use this auth on ``app``.

        Also registers the handler that renders refusals; works for Starlette apps too.
        """
        app.state.twostep = self
        app.add_exception_handler(Refusal, _handle_refusal)

    def refuse(self, error: TwostepError) -> Refusal:
        return Refusal(self.answer(error))


def auth_of(request: Request) -> TwostepAuth:
    """The :class:`TwostepAuth` installed on the request's app."""
    auth = getattr(request.app.state, "twostep", None)
    if not isinstance(auth, TwostepAuth):
        raise RuntimeError("twostep is not set up on this app: call TwostepAuth(...).install(app)")
    return auth


_bearer = HTTPBearer(
    auto_error=False, scheme_name="twostep", description="An access token from twostep."
)


async def current_user(
    request: Request,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> AccessClaims:
    """The verified claims of the request's bearer token, or a 401 refusal.

    ``_credentials`` only documents the scheme in OpenAPI; the header is read by the guard, so
    every adapter parses it alike.
    """
    auth = auth_of(request)
    try:
        return await auth.authenticate_async(request.headers.get("authorization"))
    except TwostepError as exc:
        raise auth.refuse(exc) from None


CurrentUser = Annotated[AccessClaims, Depends(current_user)]
"""A route parameter holding the caller's verified claims; 401 without a valid token."""


def _requiring(rule: Rule) -> Callable[[Request, AccessClaims], Awaitable[AccessClaims]]:
    async def dependency(request: Request, claims: CurrentUser) -> AccessClaims:
        auth = auth_of(request)
        try:
            return auth.enforce(claims, rule)
        except TwostepError as exc:
            raise auth.refuse(exc) from None

    return dependency


def require_2fa(max_age: int | None = None) -> Callable[..., Awaitable[AccessClaims]]:
    """A dependency: a token whose sign-in used a second factor, within ``max_age`` seconds."""
    return _requiring(Rule("2fa", max_age))


def require_elevated(max_age: int | None = None) -> Callable[..., Awaitable[AccessClaims]]:
    """A dependency: a session stepped up and still elevated (403 ``ELEVATION_REQUIRED``)."""
    return _requiring(Rule("elevated", max_age))


def require_claim(name: str, value: Any) -> Callable[..., Awaitable[AccessClaims]]:
    """A dependency: claim ``name`` equals (or, for a list, contains) ``value``."""
    return _requiring(Rule("token", claim=(name, value)))


TwoFactorUser = Annotated[AccessClaims, Depends(require_2fa())]
"""Claims of a caller who signed in with a second factor; 403 otherwise."""

ElevatedUser = Annotated[AccessClaims, Depends(require_elevated())]
"""Claims of a caller whose session is elevated right now; 403 ``ELEVATION_REQUIRED`` otherwise."""
