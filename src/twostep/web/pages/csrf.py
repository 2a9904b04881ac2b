"""CSRF protection for every form: a signed double-submit token.

The browser holds a random nonce in an HttpOnly cookie; each form carries
``HMAC(pepper, "csrf:" + nonce)`` in a hidden ``csrf_token`` field. A POST is accepted only
when the field matches the cookie's nonce, compared in constant time. Another site can make
the browser send the cookie (only on top-level navigations, thanks to ``SameSite=Lax``), but
it can neither read the cookie nor the page that holds the token, so it cannot fill the field.
Signing with the server's pepper means a pair cannot be made up without the server, and the
``__Host-`` prefix keeps subdomains from planting a cookie. The nonce is replaced when a user
signs in or out, so a token seen before sign-in is worthless after it.

Usage in a route::

    @router.post("/thing")
    def thing(_: CsrfChecked, ...) -> Response: ...
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import Depends, Form, Request

from twostep.security import keyed_hash
from twostep.web.pages.cookies import CookiePolicy

FIELD = "csrf_token"
_NONCE_BYTES = 32
_MAX_NONCE = 128


class CsrfRejected(Exception):
    """A form arrived without a valid CSRF token; answered with a 403 page."""


class Csrf:
    """Issues nonces and tokens, and checks them."""

    def __init__(self, pepper: bytes, cookies: CookiePolicy) -> None:
        self._pepper = pepper
        self._cookies = cookies

    @staticmethod
    def new_nonce() -> str:
        return secrets.token_urlsafe(_NONCE_BYTES)

    def token(self, nonce: str) -> str:
        """The form token that goes with ``nonce``."""
        return keyed_hash(self._pepper, f"csrf:{nonce}")

    def nonce_for(self, request: Request) -> tuple[str, bool]:
        """The request's nonce, or a new one; True when it is new and must be set."""
        nonce = request.cookies.get(self._cookies.csrf, "")
        if nonce and len(nonce) <= _MAX_NONCE:
            return nonce, False
        return self.new_nonce(), True

    def check(self, request: Request, submitted: str) -> None:
        """Raise :class:`CsrfRejected` unless ``submitted`` matches the cookie's nonce."""
        nonce = request.cookies.get(self._cookies.csrf, "")
        if not nonce or len(nonce) > _MAX_NONCE or not submitted:
            raise CsrfRejected()
        expected = self.token(nonce)
        if not hmac.compare_digest(expected.encode(), submitted.encode("utf-8", "replace")):
            raise CsrfRejected()


def check_csrf(request: Request, csrf_token: Annotated[str, Form()] = "") -> None:
    """Dependency: the form's CSRF token is valid, or the request ends with a 403 page."""
    csrf: Csrf = request.app.state.pages.csrf
    csrf.check(request, csrf_token)


CsrfChecked = Annotated[None, Depends(check_csrf)]
"""Add a parameter of this type to every POST route of a page."""
