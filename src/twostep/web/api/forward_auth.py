"""``/api/v1/forward-auth``: the question a reverse proxy asks before every proxied request.

Two flavours, because the proxies differ in how they pass the original request and in what
they do with the answer:

* ``/api/v1/forward-auth`` for Traefik ``forwardAuth`` and Caddy ``forward_auth``: the
  original request is in ``X-Forwarded-Method``, ``-Proto``, ``-Host`` and ``-Uri``, and a
  browser that must sign in (or step up) gets the ``302`` itself.
* ``/api/v1/forward-auth/nginx`` for nginx ``auth_request``: the original request is in
  ``X-Original-URL`` and ``X-Original-Method``; nginx only understands 2xx, 401 and 403, so
  the way to sign in is a ``401`` whose ``Location`` nginx turns into the redirect.

Each proxy asks with ``GET`` whatever the original method (nginx's subrequests are ``GET``;
Traefik and Caddy say so), and passes the original method in a header.

Allowed: ``200`` with ``Remote-User`` and ``Remote-Email`` (the address), ``Remote-Name`` (its
local part) and ``Remote-Groups`` (the role). Signed in but not allowed: ``403``. Only a peer
in ``TWOSTEP_TRUSTED_PROXIES`` may say what the original request was; anyone else is refused
(``403``) before a rule is read, so a forged ``X-Forwarded-Host`` proves nothing.
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Request
from starlette.responses import Response

from twostep.errors import Forbidden, InvalidInput
from twostep.services import forward_auth
from twostep.services.access import METHODS, AccessRequest
from twostep.web.api.routing import EDGE_ERRORS, ApiRoute
from twostep.web.client_ip import client_ip, is_trusted
from twostep.web.deps import State, WebState

router = APIRouter(tags=["forward-auth"], route_class=ApiRoute, responses=EDGE_ERRORS)

UNTRUSTED = "Only a proxy listed in TWOSTEP_TRUSTED_PROXIES may ask about a forwarded request."
ALLOWED: dict[int | str, dict[str, object]] = {
    200: {"description": "Allowed; the `Remote-*` headers name the user"}
}
REMOTE_HEADERS = ("remote-user", "remote-email", "remote-name", "remote-groups")
_HOST_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789.-:[]")


def _original(scheme: str, host: str, uri: str, method: str) -> tuple[str, AccessRequest]:
    """The original URL and what the rules match, from what the proxy said."""
    host = host.strip().lower()
    method = method.strip().upper() or "GET"
    if scheme not in ("http", "https") or not host or not set(host) <= _HOST_CHARS:
        raise InvalidInput("url", "The proxy did not pass the original scheme and host.")
    if not uri.startswith("/") or any(ord(c) <= 0x20 or ord(c) == 0x7F for c in uri):
        raise InvalidInput("url", "The proxy did not pass the original path.")
    if method not in METHODS:
        raise InvalidInput("method", "The proxy passed an unknown method.")
    return f"{scheme}://{host}{uri}", AccessRequest(host, uri, method)


def _answer(
    state: WebState, request: Request, url: str, ask: AccessRequest, *, nginx: bool
) -> Response:
    peer = request.client.host if request.client else None
    ip = client_ip(peer, request.headers.get("x-forwarded-for"), state.trusted_proxies)
    ask = AccessRequest(ask.host, ask.path, ask.method, ip)
    cookie = state.sso_cookie
    verdict = forward_auth.check(state.ctx, state.access_rules, ask, cookie.read(request))
    if verdict.outcome == "deny":
        return Response("Forbidden", status_code=403, media_type="text/plain")
    if verdict.outcome in ("sign_in", "step_up"):
        page = "/login" if verdict.outcome == "sign_in" else "/step-up"
        settings = state.ctx.settings
        target = settings.public_url.rstrip("/") + page
        if forward_auth.return_url_allowed(url, cookie.domain, allow_http=not cookie.secure):
            target += "?rd=" + quote(url, safe="")
        status = 401 if nginx else 302
        return Response("Sign in first", status_code=status, headers={"location": target},
                        media_type="text/plain")  # fmt: skip
    # Always all four, empty for a visitor on a bypass path: Caddy 2.6 copies an absent
    # header as its placeholder text, which an app could take for a user name.
    headers = dict.fromkeys(REMOTE_HEADERS, "")
    if verdict.principal is not None:
        user = verdict.principal.user
        headers = {
            "remote-user": user.email,
            "remote-email": user.email,
            "remote-name": user.email.split("@", 1)[0],
            "remote-groups": user.role,
        }
    return Response(status_code=200, headers=headers)


def _trusted_peer(state: WebState, request: Request) -> None:
    peer = request.client.host if request.client else None
    if peer is None or not is_trusted(peer, state.trusted_proxies):
        raise Forbidden(UNTRUSTED)


FORWARDED_RESPONSES: dict[int | str, dict[str, object]] = {
    **ALLOWED,
    302: {"description": "Not signed in, or a fresh second factor is due: go to `Location`"},
    403: {"description": "Signed in but not allowed, or the caller is not a trusted proxy"},
}


@router.get("/forward-auth", responses=FORWARDED_RESPONSES)
def forward_auth_traefik(request: Request, state: State) -> Response:
    """For Traefik ``forwardAuth`` and Caddy ``forward_auth`` (``X-Forwarded-*`` headers)."""
    _trusted_peer(state, request)
    headers = request.headers
    url, ask = _original(
        headers.get("x-forwarded-proto", "").strip().lower(),
        headers.get("x-forwarded-host", ""),
        headers.get("x-forwarded-uri", ""),
        headers.get("x-forwarded-method", "GET"),
    )
    return _answer(state, request, url, ask, nginx=False)


NGINX_RESPONSES: dict[int | str, dict[str, object]] = {
    **ALLOWED,
    401: {"description": "Not signed in, or a fresh second factor is due: go to `Location`"},
    403: {"description": "Signed in but not allowed, or the caller is not a trusted proxy"},
}


@router.get("/forward-auth/nginx", responses=NGINX_RESPONSES)
def forward_auth_nginx(request: Request, state: State) -> Response:
    """For nginx ``auth_request`` (``X-Original-URL`` and ``X-Original-Method``)."""
    _trusted_peer(state, request)
    original = request.headers.get("x-original-url", "")
    try:
        parts = urlsplit(original)
    except ValueError:
        raise InvalidInput("url", "The proxy passed a malformed X-Original-URL.") from None
    uri = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    url, ask = _original(
        parts.scheme, parts.netloc, uri, request.headers.get("x-original-method", "GET")
    )
    return _answer(state, request, url, ask, nginx=True)
