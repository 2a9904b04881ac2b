"""The route class of every API router: JSON bodies go through the bounded parser.

FastAPI parses a JSON body with ``Request.json()`` and turns a :class:`json.JSONDecodeError`
into a validation error (422), but a body that is not UTF-8 escapes as a bare 400 and a
deeply nested one as a ``RecursionError``. :class:`ApiRoute` hands the handler a request
whose ``json()`` is :func:`twostep.web.schemas.parse_json`, so both are 422s like any other
malformed body.

:data:`EDGE_ERRORS` documents the answers the edge can give on any operation, beside the
domain errors the app documents for the whole API: a body over the size limit (413) and a
service that is briefly unavailable (503, with ``Retry-After`` when the database is busy).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response

from twostep.web.schemas import ErrorResponse, parse_json

EDGE_ERRORS: dict[int | str, dict[str, Any]] = {
    413: {"model": ErrorResponse, "description": "The request body is too large"},
    503: {"model": ErrorResponse, "description": "Briefly unavailable; try again later"},
}

Endpoint = Callable[[Request], Coroutine[Any, Any, Response]]


class BoundedJSONRequest(Request):
    """A request whose JSON body is UTF-8 and nested at most ``MAX_DEPTH`` deep."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = parse_json(await self.body())
        return self._json


class ApiRoute(APIRoute):
    """An ``APIRoute`` whose handler reads JSON with the bounded parser."""

    def get_route_handler(self) -> Endpoint:
        handler = super().get_route_handler()

        async def bounded_handler(request: Request) -> Response:
            return await handler(BoundedJSONRequest(request.scope, request.receive))

        return bounded_handler
