"""The API reference at ``/docs``, served from this machine: no CDN, no inline script.

FastAPI's own docs page loads Swagger UI from a CDN and starts it with an inline script,
so it is blank on a machine without internet access and needs a loose CSP. Here the
Swagger UI files come from the ``swagger-ui-py`` package (Apache-2.0, its licence is served
beside them at ``/docs/assets/LICENSE``) and the start-up code is ``static/docs-init.js``,
so the page runs under ``script-src 'self'``. ReDoc is not offered: it loads web fonts
from a CDN.
"""

from __future__ import annotations

import html
import importlib.util
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, HTMLResponse

from twostep.errors import NotFound

ASSETS: dict[str, str] = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "LICENSE": "text/plain; charset=utf-8",
}
"""The only Swagger UI files served, with their media types."""

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} API reference</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
<link rel="icon" href="/static/logo.svg">
</head>
<body>
<div id="swagger-ui" data-openapi-url="{openapi_url}"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/static/docs-init.js"></script>
</body>
</html>
"""


def swagger_ui_dir() -> Path:
    """The directory of the Swagger UI files shipped by ``swagger-ui-py``.

    Found without importing the package (its import pulls in a web-framework adapter
    layer that twostep does not use).
    """
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the swagger-ui-py package is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "static"


def install_docs(app: FastAPI, *, openapi_url: str = "/openapi.json") -> None:
    """Serve ``/docs`` and its assets on ``app`` (build it with ``docs_url=None``)."""
    assets = swagger_ui_dir()
    page = PAGE.format(title=html.escape(app.title), openapi_url=html.escape(openapi_url))

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return HTMLResponse(page)

    @app.get("/docs/assets/{name}", include_in_schema=False)
    async def docs_asset(name: str) -> FileResponse:
        media_type = ASSETS.get(name)
        if media_type is None:
            raise NotFound()
        return FileResponse(
            assets / name,
            media_type=media_type,
            headers={"cache-control": "public, max-age=86400"},
        )
