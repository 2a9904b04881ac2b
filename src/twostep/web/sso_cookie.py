"""The single-sign-on cookie: the parent-domain cookie that reverse proxies send back to us.

Unlike the page cookies (``__Host-``, this host only), it carries ``Domain=`` the configured
``TWOSTEP_COOKIE_DOMAIN``, so the browser sends it to every app below that domain, and the
proxy in front of each app forwards it to ``/api/v1/forward-auth``. It holds a random token
bound to the browser's page session (:mod:`twostep.services.forward_auth`), never the session
cookie's token, so an app that sees it cannot act at twostep itself.

It is ``HttpOnly`` and ``SameSite=Lax`` (a top-level navigation from another site still
carries it, as a sign-in return needs), and ``Secure`` with the ``__Secure-`` prefix, unless
development allows plain http with ``TWOSTEP_COOKIE_SECURE=false`` (production refuses that).
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from twostep.config import Settings


@dataclass(frozen=True, slots=True)
class SsoCookie:
    """Name and flags of the single-sign-on cookie for one deployment (``None`` domain: off)."""

    domain: str | None
    secure: bool

    @classmethod
    def for_settings(cls, settings: Settings) -> SsoCookie:
        return cls(domain=settings.cookie_domain, secure=settings.cookie_secure)

    @property
    def name(self) -> str:
        return "__Secure-twostep-sso" if self.secure else "twostep_sso"

    def read(self, request: Request) -> str | None:
        return request.cookies.get(self.name) or None

    def set(self, response: Response, token: str, *, max_age: int) -> None:
        response.set_cookie(
            self.name, token, max_age=max_age, path="/", domain=self.domain,
            secure=self.secure, httponly=True, samesite="lax",
        )  # fmt: skip

    def clear(self, response: Response) -> None:
        if self.domain:
            response.delete_cookie(
                self.name, path="/", domain=self.domain, secure=self.secure, httponly=True,
                samesite="lax",
            )  # fmt: skip
