"""The browser's cookies: names, flags, and the few values pages keep in them.

Every cookie is HttpOnly, ``SameSite=Lax`` and ``Path=/``. Outside development, or whenever
the public URL is https, they are ``Secure`` and carry the ``__Host-`` prefix, which a browser
only accepts from a secure origin, for the whole host, without a ``Domain``: a sibling
subdomain can therefore neither set nor overwrite them. Browsers refuse ``__Host-`` names
without ``Secure``, so development over plain http uses unprefixed names
(``twostep_session``, ``twostep_csrf``, ``twostep_challenge``).

What is stored:

* the session cookie holds the session's opaque refresh token (never an access token); the
  server resolves it to a live session on every request, so a logout anywhere ends it;
* the CSRF cookie holds a random nonce (see :mod:`twostep.web.pages.csrf`);
* the challenge cookie holds a pending login challenge between the password and the code
  step, with its expiry time for the countdown;
* the remember cookie holds a remembered browser's random token (stored hashed server-side,
  :mod:`twostep.services.remembered`); it lives ``REMEMBER_DAYS``.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from twostep.config import Settings


@dataclass(frozen=True, slots=True)
class CookiePolicy:
    """Cookie names and flags for one deployment."""

    secure: bool

    @classmethod
    def for_settings(cls, settings: Settings) -> CookiePolicy:
        """``Secure`` cookies except in development when the public URL is plain http."""
        plain_http = settings.public_url.lower().startswith("http://")
        return cls(secure=not (settings.is_development and plain_http))

    def _name(self, secure_name: str, plain_name: str) -> str:
        return secure_name if self.secure else plain_name

    @property
    def session(self) -> str:
        return self._name("__Host-twostep", "twostep_session")

    @property
    def csrf(self) -> str:
        return self._name("__Host-twostep-csrf", "twostep_csrf")

    @property
    def challenge(self) -> str:
        return self._name("__Host-twostep-challenge", "twostep_challenge")

    @property
    def remember(self) -> str:
        return self._name("__Host-twostep-remember", "twostep_remember")

    def set(self, response: Response, name: str, value: str, *, max_age: int | None) -> None:
        """Set cookie ``name``; ``max_age=None`` makes it last until the browser closes."""
        response.set_cookie(
            name,
            value,
            max_age=max_age,
            path="/",
            secure=self.secure,
            httponly=True,
            samesite="lax",
        )

    def clear(self, response: Response, name: str) -> None:
        """Delete cookie ``name`` (with the same flags, as ``__Host-`` requires)."""
        response.delete_cookie(name, path="/", secure=self.secure, httponly=True, samesite="lax")


@dataclass(frozen=True, slots=True)
class PendingChallenge:
    """A login challenge waiting for its code: id, expiry (Unix seconds), backup allowed."""

    challenge_id: str
    expires_at: int
    backup_allowed: bool

    def encode(self) -> str:
        return f"{self.challenge_id}:{self.expires_at}:{'b' if self.backup_allowed else '-'}"

    @classmethod
    def decode(cls, value: str | None) -> PendingChallenge | None:
        """The challenge in a cookie value, or ``None`` for anything malformed."""
        if not value or len(value) > 128:
            return None
        parts = value.split(":")
        if len(parts) != 3 or not parts[0] or not parts[1].isdigit():
            return None
        return cls(parts[0], int(parts[1]), parts[2] == "b")

    @classmethod
    def from_request(cls, request: Request, policy: CookiePolicy) -> PendingChallenge | None:
        return cls.decode(request.cookies.get(policy.challenge))
