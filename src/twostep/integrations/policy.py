"""The framework-free core of the integration kit: read the bearer token, decide, answer.

Every adapter (FastAPI dependencies, the ASGI middleware, the decorators) goes through one
:class:`Guard`, so the three can never disagree on what a route requires or how a refusal
looks. Invariants:

- A missing or invalid token is 401 with ``WWW-Authenticate: Bearer``; a valid token that is
  not enough (no second factor, no live elevation, a claim missing, an enrolment-only session)
  is 403; keys that cannot be
  fetched are 503, never 401, so clients do not throw away good tokens during an outage.
- Every refusal has the body ``{"error": {"code": ..., "message": ...}}``; an elevation refusal
  adds ``step_up_url``, a claim refusal adds ``claim``.
- A second factor is proven by ``amr`` alone (DESIGN §4.12): an elevation never stands in
  for one, since an account without a device steps up with its password. ``max_age`` is
  measured from ``second_factor_time``, the last time the session proved a second factor.
- Tokens of enrolment-only sessions (``purpose`` other than ``full``) are refused by every
  rule unless the guard is built with ``allow_enrollment_sessions=True``.
- Time comes from an injected :class:`~twostep.clock.Clock`, so tests move time, not sleep.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import anyio.to_thread

from twostep.clock import Clock, SystemClock
from twostep.errors import (
    ElevationRequired,
    EnrollmentRequired,
    InvalidToken,
    MissingClaim,
    TwostepError,
    Unauthenticated,
)
from twostep.integrations.client import TwostepUnavailable
from twostep.security.tokens import AccessClaims, TokenVerifier

Requirement = Literal["token", "2fa", "elevated"]
DEFAULT_STEP_UP_URL = "/account/step-up"
_ABSENT = object()


@dataclass(frozen=True, slots=True)
class Rule:
    """What a route needs: a valid token, a second factor, or a live elevation; maybe a claim.

    ``max_age`` (seconds) also bounds how long ago the second factor was proven
    (``second_factor_time``); with ``level="elevated"`` it bounds the elevation's second factor
    the same way.
    """

    level: Requirement = "token"
    max_age: int | None = None
    claim: tuple[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Answer:
    """A refusal ready to send: status, JSON body, extra headers."""

    status: int
    body: dict[str, Any]
    headers: Mapping[str, str] = field(default_factory=dict)


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, or ``None``."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token and " " not in token else None


def claim_matches(claims: AccessClaims, name: str, value: Any) -> bool:
    """Whether claim ``name`` equals ``value``, or, for a list claim, contains it.

    Types must agree too, so ``True`` never satisfies ``1`` nor ``"1"`` satisfy ``1``.
    """
    actual = claims.get(name, _ABSENT)
    candidates = actual if isinstance(actual, list | tuple) else (actual,)
    return any(type(c) is type(value) and c == value for c in candidates)


class Guard:
    """A token verifier plus how to answer: the step-up URL and the clock.

    >>> from twostep.security import StaticKeys, TokenVerifier
    >>> guard = Guard(TokenVerifier(StaticKeys.hs256(b"k" * 32), issuer="i", audience="a"))
    >>> guard.answer(Unauthenticated()).status
    401
    """

    def __init__(
        self,
        verifier: TokenVerifier,
        *,
        step_up_url: str = DEFAULT_STEP_UP_URL,
        clock: Clock | None = None,
        allow_enrollment_sessions: bool = False,
    ) -> None:
        self.verifier = verifier
        self.step_up_url = step_up_url
        self.clock: Clock = clock or SystemClock()
        self.allow_enrollment_sessions = allow_enrollment_sessions

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.verifier!r}, step_up_url={self.step_up_url!r})"

    def now(self) -> float:
        return self.clock.now().timestamp()

    def authenticate(self, authorization: str | None) -> AccessClaims:
        """Verify the bearer token. Raises :class:`Unauthenticated` or :class:`InvalidToken`."""
        token = bearer_token(authorization)
        if token is None:
            raise Unauthenticated("Send an access token: Authorization: Bearer <token>.")
        return self.verifier.verify(token, now=self.now())

    async def authenticate_async(self, authorization: str | None) -> AccessClaims:
        """:meth:`authenticate`, in a worker thread when the key source may do network I/O."""
        if self.verifier.keys.may_block:
            return await anyio.to_thread.run_sync(self.authenticate, authorization)
        return self.authenticate(authorization)

    def enforce(self, claims: AccessClaims, rule: Rule) -> AccessClaims:
        """Return ``claims`` if they satisfy ``rule``; raise the 403 error that explains why not."""
        now = self.now()
        if claims.is_limited() and not self.allow_enrollment_sessions:
            raise EnrollmentRequired("Finish setting up two-factor authentication first.")
        if rule.level == "elevated" and not claims.is_elevated(now):
            raise ElevationRequired("Confirm with a code from your authenticator to continue.")
        if rule.level == "2fa" and not claims.has_second_factor():
            raise ElevationRequired("This needs a sign-in confirmed with a second factor.")
        if rule.level != "token" and rule.max_age is not None:
            age = claims.two_factor_age(now)
            if age is None or age > rule.max_age:
                raise ElevationRequired("Your second factor is too old; confirm it again.")
        if rule.claim is not None and not claim_matches(claims, *rule.claim):
            raise MissingClaim(rule.claim[0])
        return claims

    def answer(self, error: TwostepError) -> Answer:
        """The HTTP refusal for ``error``."""
        body: dict[str, Any] = {"code": error.code, "message": error.message}
        headers: dict[str, str] = {}
        if isinstance(error, InvalidToken):
            status, headers["WWW-Authenticate"] = 401, 'Bearer error="invalid_token"'
        elif isinstance(error, Unauthenticated):
            status, headers["WWW-Authenticate"] = 401, "Bearer"
        elif isinstance(error, ElevationRequired):
            status, body["step_up_url"] = 403, self.step_up_url
        elif isinstance(error, MissingClaim):
            status, body["claim"] = 403, error.claim
        elif isinstance(error, TwostepUnavailable):
            status, headers["Retry-After"] = 503, "30"
        else:
            status = 403
        return Answer(status, {"error": body}, headers)
