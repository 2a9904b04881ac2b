"""Talking to a twostep service from another app: its JWKS, and RFC 7662 introspection.

:class:`JWKSClient` is a key source for :class:`~twostep.security.tokens.TokenVerifier`, so an
app verifies tokens offline and only asks the service for keys. Invariants:

- Keys are cached for ``cache_seconds``. An unknown ``kid`` (a rotation) triggers a refresh,
  but fetches happen at most once per ``refresh_interval`` seconds, however many bogus kids
  arrive: a flood of forged tokens cannot turn into a flood of requests to the service.
- A failed fetch keeps the keys already known (the service being briefly down must not log
  everyone out); only with no keys at all does verification fail, as
  :class:`TwostepUnavailable` (503), not as an invalid token.
- Only one thread fetches at a time; a thread holding a known but stale key never waits for it.
"""

from __future__ import annotations

import base64
import http.client
import json
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from twostep.errors import TwostepError
from twostep.security.secret import SecretBytes
from twostep.security.tokens import Algorithm, StaticKeys, VerificationKey

MAX_RESPONSE_BYTES = 1 << 20
FetchJSON = Callable[[], Mapping[str, Any]]
PostForm = Callable[[str, bytes, Mapping[str, str]], Mapping[str, Any]]
FETCH_ERRORS = (OSError, ValueError, http.client.HTTPException, TwostepError)


class TwostepUnavailable(TwostepError):
    """The twostep service could not be reached, or answered something unusable."""

    code = "TWOSTEP_UNAVAILABLE"
    default_message = "The sign-in service is unavailable. Please try again shortly."


def _check_url(url: str) -> str:
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise ValueError(f"expected an http(s) URL, not {url[:80]!r}")
    return url


def http_json(
    url: str, *, timeout: float, data: bytes | None = None, headers: Mapping[str, str] | None = None
) -> Any:
    """GET (or POST ``data``) with the standard library; the JSON body of a 2xx answer."""
    request = urllib.request.Request(  # noqa: S310 - the scheme is checked to be http(s)
        _check_url(url), data=data, headers={"Accept": "application/json", **(headers or {})}
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
        body = response.read(MAX_RESPONSE_BYTES + 1)
    if len(body) > MAX_RESPONSE_BYTES:
        raise ValueError(f"the answer from {url[:80]!r} is larger than {MAX_RESPONSE_BYTES} bytes")
    return json.loads(body)


@dataclass(frozen=True, slots=True)
class _Fetched:
    keys: StaticKeys | None
    at: float


class JWKSClient:
    """A cached view of a twostep service's ``/.well-known/jwks.json``.

    >>> jwks = {"keys": []}
    >>> client = JWKSClient("https://auth.example.test/.well-known/jwks.json", fetch=lambda: jwks)
    >>> client.get_key("unknown") is None
    True
    """

    algorithms: tuple[Algorithm, ...] = ("EdDSA",)
    may_block = True

    def __init__(
        self,
        jwks_url: str,
        *,
        cache_seconds: float = 300,
        refresh_interval: float = 10,
        timeout: float = 5.0,
        fetch: FetchJSON | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``fetch`` replaces the HTTP GET (tests, other transports); it raises on failure."""
        self.jwks_url = _check_url(jwks_url)
        self.cache_seconds, self.refresh_interval = cache_seconds, refresh_interval
        self._fetch: FetchJSON = fetch or (lambda: http_json(self.jwks_url, timeout=timeout))
        self._clock = clock
        self._state = _Fetched(None, float("-inf"))
        self._attempted = float("-inf")
        self._lock = threading.Lock()
        self.last_error: str | None = None

    def __repr__(self) -> str:
        return f"JWKSClient({self.jwks_url!r})"

    def get_key(self, kid: str | None) -> VerificationKey | None:
        """The key named ``kid``, refreshing the cache when it is stale or lacks that kid."""
        if kid is None:  # twostep always names the key; no fetch for a token that does not
            return None
        seen = self._state
        key = seen.keys.get_key(kid) if seen.keys is not None else None
        if key is not None and self._clock() - seen.at < self.cache_seconds:
            return key
        # An unknown kid waits for an in-flight fetch; a known, stale key does not have to.
        if self._lock.acquire(blocking=key is None):
            try:
                now = self._clock()
                if self._state is seen and now - self._attempted >= self.refresh_interval:
                    self._attempted = now
                    self._refresh(now)
            finally:
                self._lock.release()
        keys = self._state.keys
        if keys is None:
            raise TwostepUnavailable(f"cannot fetch signing keys: {self.last_error}")
        return keys.get_key(kid)

    def refresh(self) -> bool:
        """Fetch the keys now (e.g. at start-up); ``False`` if the fetch failed."""
        with self._lock:
            self._attempted = self._clock()
            return self._refresh(self._attempted)

    def _refresh(self, now: float) -> bool:
        try:
            keys = StaticKeys.from_jwks(self._fetch())
        except FETCH_ERRORS as exc:
            self.last_error = f"{type(exc).__name__}: {str(exc)[:200]}"
            return False
        self._state, self.last_error = _Fetched(keys, now), None
        return True


class IntrospectionClient:
    """Asks the service whether a token is live right now (RFC 7662), e.g. after a logout.

    Offline verification cannot see a revoked session until the token expires; introspection
    can, at the cost of one request. Use it for the few operations where that matters.
    """

    def __init__(
        self,
        url: str,
        client_id: str,
        client_secret: str,
        *,
        timeout: float = 5.0,
        post: PostForm | None = None,
    ) -> None:
        """``post(url, body, headers)`` replaces the HTTP POST; it returns the JSON answer."""
        self.url, self.client_id = _check_url(url), client_id
        self._secret = SecretBytes(client_secret.encode("utf-8"))
        self._post: PostForm = post or (
            lambda u, body, headers: http_json(u, timeout=timeout, data=body, headers=headers)
        )

    def __repr__(self) -> str:
        return f"IntrospectionClient({self.url!r}, client_id={self.client_id!r})"

    def introspect(self, token: str) -> dict[str, Any]:
        """The answer, at least ``{"active": bool}``; raises :class:`TwostepUnavailable`."""
        # RFC 6749 section 2.3.1: id and secret are form-encoded before the basic-auth encoding.
        pair = ":".join(
            urllib.parse.quote_plus(part)
            for part in (self.client_id, self._secret.reveal().decode("utf-8"))
        )
        headers = {
            "Authorization": "Basic " + base64.b64encode(pair.encode("utf-8")).decode("ascii"),
            "Content-Type": "application/x-www-form-urlencoded",
        }
        body = urllib.parse.urlencode({"token": token, "token_type_hint": "access_token"})
        try:
            answer = self._post(self.url, body.encode("ascii"), headers)
        except FETCH_ERRORS as exc:
            raise TwostepUnavailable(f"introspection failed: {type(exc).__name__}") from None
        if not isinstance(answer, Mapping) or not isinstance(answer.get("active"), bool):
            raise TwostepUnavailable("introspection answered without an 'active' flag")
        return dict(answer)
