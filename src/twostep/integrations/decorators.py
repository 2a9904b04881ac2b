"""Decorators for Starlette and FastAPI handlers that take a ``Request``.

::

    @app.post("/api/keys")
    @require_elevated_session
    async def create_key(request: Request) -> dict[str, str]: ...

The decorator finds the ``Request`` among the handler's arguments, then the guard: the one the
:class:`~twostep.integrations.asgi.TwostepMiddleware` put in the scope, else the
:class:`~twostep.integrations.fastapi.TwostepAuth` installed on the app. Claims the middleware
already verified are reused; otherwise the bearer token is verified here. Either way the
handler finds them in ``request.state.twostep``.

Invariants: a refused call returns the refusal (401/403 JSON) and never runs the handler;
sync handlers stay sync and async ones async, and ``functools.wraps`` keeps the signature, so
FastAPI still sees (and injects) every parameter. With no guard configured the decorator
raises instead of letting the request through.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from typing import Any, ParamSpec, Protocol, TypeVar, cast

from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse

from twostep.errors import TwostepError
from twostep.integrations.asgi import CLAIMS_STATE, GUARD_KEY
from twostep.integrations.policy import Guard, Rule
from twostep.security.tokens import AccessClaims

P = ParamSpec("P")
R = TypeVar("R")


class Decorator(Protocol):
    """What the decorator factories return: wraps a handler, keeping its signature."""

    def __call__(self, handler: Callable[P, R], /) -> Callable[P, R]: ...


def _connection(
    handler: Callable[..., Any], args: tuple[Any, ...], kwargs: Mapping[str, Any]
) -> HTTPConnection:
    for value in (*args, *kwargs.values()):
        if isinstance(value, HTTPConnection):
            return value
    raise TypeError(f"{handler.__qualname__} must take a Request for twostep's decorators")


def _guard(connection: HTTPConnection) -> Guard:
    guard = connection.scope.get(GUARD_KEY) or getattr(connection.app.state, "twostep", None)
    if not isinstance(guard, Guard):
        raise RuntimeError(
            "twostep is not set up: add TwostepMiddleware, or call TwostepAuth(...).install(app)"
        )
    return guard


def _verified(connection: HTTPConnection) -> AccessClaims | None:
    claims = connection.scope.get("state", {}).get(CLAIMS_STATE)
    return claims if isinstance(claims, AccessClaims) else None


def _refusal(guard: Guard, error: TwostepError) -> JSONResponse:
    answer = guard.answer(error)
    return JSONResponse(answer.body, status_code=answer.status, headers=dict(answer.headers))


def guarded(rule: Rule) -> Decorator:
    """A decorator that runs the handler only for requests satisfying ``rule``."""

    def decorate(handler: Callable[P, R]) -> Callable[P, R]:
        if inspect.iscoroutinefunction(handler):

            @functools.wraps(handler)
            async def async_wrapper(*args: P.args, **kwargs: P.kwargs) -> Any:
                connection = _connection(handler, args, kwargs)
                guard = _guard(connection)
                try:
                    claims = _verified(connection) or await guard.authenticate_async(
                        connection.headers.get("authorization")
                    )
                    guard.enforce(claims, rule)
                except TwostepError as exc:
                    return _refusal(guard, exc)
                setattr(connection.state, CLAIMS_STATE, claims)
                return await cast(Callable[P, Any], handler)(*args, **kwargs)

            return cast(Callable[P, R], async_wrapper)

        @functools.wraps(handler)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> Any:
            connection = _connection(handler, args, kwargs)
            guard = _guard(connection)
            try:
                claims = _verified(connection) or guard.authenticate(
                    connection.headers.get("authorization")
                )
                guard.enforce(claims, rule)
            except TwostepError as exc:
                return _refusal(guard, exc)
            setattr(connection.state, CLAIMS_STATE, claims)
            return handler(*args, **kwargs)

        return cast(Callable[P, R], wrapper)

    return decorate


def require_elevated_session(handler: Callable[P, R]) -> Callable[P, R]:
    """Run ``handler`` only for a session stepped up and still elevated."""
    return guarded(Rule("elevated"))(handler)


def require_elevated_claim(claim: str, value: Any) -> Decorator:
    """Run the handler only for an elevated session whose ``claim`` matches ``value``."""
    return guarded(Rule("elevated", claim=(claim, value)))


def require_claim(claim: str, value: Any) -> Decorator:
    """Run the handler only when the token's ``claim`` equals (or, for a list, holds) ``value``."""
    return guarded(Rule("token", claim=(claim, value)))
