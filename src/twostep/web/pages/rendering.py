"""Rendering pages: the Jinja2 environment, the page CSP, and the ``Pages`` object.

``Pages`` is built once per app by :func:`twostep.web.pages.install_pages` and kept on
``app.state.pages``. Everything a page module needs hangs off it: the templates, the cookie
policy, the CSRF helper and :meth:`Pages.render`, which always answers with the strict page
CSP, ``Cache-Control: no-store`` (pages carry tokens, keys and codes) and, for a first visit,
the CSRF cookie. Templates are autoescaped; no template contains inline script or style.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse

from twostep.config import Settings
from twostep.services import sessions
from twostep.web.middleware import PAGE_CSP
from twostep.web.pages import humanize
from twostep.web.pages.cookies import CookiePolicy
from twostep.web.pages.csrf import Csrf

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "templates"
PAGE_HEADERS = {
    "content-security-policy": PAGE_CSP,
    "cache-control": "no-store",
    "referrer-policy": "no-referrer",
}


def page_headers(settings: Settings) -> dict[str, str]:
    """:data:`PAGE_HEADERS`, with the apps of the single-sign-on domain as form targets.

    A sign-in form's answer redirects to the app the user came from, and browsers hold that
    redirect to the form page's ``form-action``; so with ``TWOSTEP_COOKIE_DOMAIN`` set, the
    domain and its subdomains (any port) join ``'self'`` there.
    """
    domain = settings.cookie_domain
    if not domain:
        return dict(PAGE_HEADERS)
    scheme = "https" if settings.cookie_secure else "http"
    sources = f"'self' {scheme}://{domain}:* {scheme}://*.{domain}:*"
    csp = PAGE_CSP.replace("form-action 'self'", f"form-action {sources}")
    return {**PAGE_HEADERS, "content-security-policy": csp}


def build_environment(directories: list[Path] | None = None) -> jinja2.Environment:
    """An autoescaping environment over the shared templates (plus ``directories`` first)."""
    search = [*(directories or []), TEMPLATE_DIR]
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(path) for path in search]),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = humanize.when
    env.filters["date"] = humanize.date
    env.filters["duration"] = humanize.duration
    env.filters["agent"] = humanize.user_agent
    env.filters["key_groups"] = humanize.key_groups
    return env


def _fingerprint(directory: Path) -> dict[str, str]:
    """A short content hash per static file, for cache-busting URLs."""
    found: dict[str, str] = {}
    for path in sorted(directory.rglob("*")):
        if path.is_file():
            digest = hashlib.sha256(path.read_bytes()).hexdigest()[:10]
            found[path.relative_to(directory).as_posix()] = digest
    return found


class Pages:
    """Templates, cookies and CSRF for the server-rendered pages of one app."""

    def __init__(self, settings: Settings, pepper: bytes) -> None:
        self.settings = settings
        self.cookies = CookiePolicy.for_settings(settings)
        self.headers = page_headers(settings)
        self.csrf = Csrf(pepper, self.cookies)
        self.env = build_environment()
        self._versions = _fingerprint(STATIC_DIR)
        self.env.globals.update(
            issuer=settings.issuer,
            dev_mode=settings.is_development,
            static=self.static_url,
        )

    def static_url(self, name: str) -> str:
        """``/static/NAME?v=HASH``: a new URL whenever the file changes."""
        version = self._versions.get(name)
        return f"/static/{name}" + (f"?v={version}" if version else "")

    def render(
        self,
        request: Request,
        template: str,
        values: Mapping[str, Any] | None = None,
        *,
        status: int = 200,
        principal: sessions.Principal | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> HTMLResponse:
        """Render ``template`` as a complete page response."""
        nonce, fresh = self.csrf.nonce_for(request)
        html = self.env.get_template(template).render(
            {
                "request": request,
                "path": request.url.path,
                "csrf_token": self.csrf.token(nonce),
                "principal": principal,
                "user": principal.user if principal is not None else None,
                **(values or {}),
            }
        )
        response = HTMLResponse(html, status_code=status, headers={**self.headers})
        for name, value in (headers or {}).items():
            response.headers[name] = value
        if fresh:
            self.cookies.set(response, self.cookies.csrf, nonce, max_age=None)
        return response

    def redirect(self, url: str) -> RedirectResponse:
        """A 303 to ``url`` (always a path of this site), uncached."""
        return RedirectResponse(url, status_code=303, headers={"cache-control": "no-store"})

    def renew_csrf(self, response: RedirectResponse | HTMLResponse) -> None:
        """Give the browser a new CSRF nonce (on sign-in and sign-out)."""
        self.cookies.set(response, self.cookies.csrf, self.csrf.new_nonce(), max_age=None)
