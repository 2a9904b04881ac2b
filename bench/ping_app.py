"""The bare application ``http_api.py`` measures twostep against: Starlette, one route.

``GET /ping`` answers ``{"status": "ok"}`` as twostep's ``GET /healthz`` does, with nothing
else in the way (no middleware, no other routes). ``_serve.py`` serves it with the server
options of ``twostep serve``, so the difference between the two is the application alone.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


async def ping(_request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


def create_app() -> Starlette:
    """The application (a factory, as ``twostep.web.app:create_app`` is)."""
    return Starlette(routes=[Route("/ping", ping, methods=["GET"])])
