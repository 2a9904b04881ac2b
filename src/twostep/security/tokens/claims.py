"""The claims of a twostep access token, and their strict reading from a verified payload.

Invariant: a payload becomes :class:`AccessClaims` only with every required claim present and
of its exact type. A token that verifies but carries ``"exp": "soon"`` is as invalid as a forged
one, so no check downstream ever meets a value of the wrong type.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from twostep.errors import InvalidToken

REQUIRED_CLAIMS = ("iss", "aud", "sub", "sid", "jti", "iat", "exp", "amr", "auth_time")
REGISTERED_CLAIMS = frozenset(
    {*REQUIRED_CLAIMS, "elevated_until", "role", "nbf", "acr", "second_factor_time", "purpose"}
)
SECOND_FACTORS = frozenset({"otp", "backup", "hwk", "swk"})
"""The ``amr`` values (RFC 8176) that prove a second factor: a TOTP code, a backup code, a
security key (``hwk``, or ``swk`` for a synced passkey). A password (``pwd``), an emailed code
(``email``), an elevation and a remembered browser (``remembered``) never do (DESIGN §4.12).
A passkey sign-in says ``["hwk", "mfa"]``: the key plus its user verification."""
FULL_PURPOSE = "full"


def proves_second_factor(amr: Iterable[str]) -> bool:
    """The one rule: a second factor is proven when ``amr`` names one, and only then."""
    return not SECOND_FACTORS.isdisjoint(amr)


def acr_for(amr: Iterable[str]) -> str:
    """The assurance level an ``amr`` reaches: ``aal2`` with a second factor, else ``aal1``."""
    return "aal2" if proves_second_factor(amr) else "aal1"


@dataclass(frozen=True, slots=True)
class AccessClaims:
    """The verified claims of an access token. Times are Unix seconds."""

    iss: str
    aud: str
    sub: str
    sid: str
    jti: str
    iat: int
    exp: int
    amr: tuple[str, ...]
    auth_time: int
    elevated_until: int | None = None
    role: str | None = None
    second_factor_time: int | None = None
    purpose: str = FULL_PURPOSE
    extra: Mapping[str, Any] = field(default_factory=dict, hash=False)

    @property
    def acr(self) -> str:
        """``aal2`` when ``amr`` proves a second factor, else ``aal1`` (read from ``amr`` only)."""
        return acr_for(self.amr)

    def is_elevated(self, now: float) -> bool:
        """Whether the session was stepped up and the elevation has not yet run out.

        An elevation says *a fresh proof* was given, not that it was a second factor: an
        account without a device steps up with its password. Never read it as 2FA.
        """
        return self.elevated_until is not None and now < self.elevated_until

    def has_second_factor(self) -> bool:
        """Whether the session proved a second factor (TOTP, backup code, security key)."""
        return proves_second_factor(self.amr)

    def is_limited(self) -> bool:
        """A session that may only finish enrolment (``MFA=required`` and no device yet)."""
        return self.purpose != FULL_PURPOSE

    def two_factor_age(self, now: float) -> int | None:
        """Seconds since the session last proved a second factor; ``None`` if it never did.

        Measured from ``second_factor_time`` alone: a password step-up moves ``auth_time``
        but proves no second factor, so it never makes one look fresh.
        """
        if not self.has_second_factor() or self.second_factor_time is None:
            return None
        return max(0, int(now - self.second_factor_time))

    def get(self, name: str, default: Any = None) -> Any:
        """A claim by its JWT name, registered or extra: ``claims.get("role")``."""
        if name in REGISTERED_CLAIMS and name != "nbf":
            return getattr(self, name)
        return self.extra.get(name, default)


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A freshly signed access token. ``repr`` leaves the bearer credential out."""

    token: str = field(repr=False)
    expires_in: int
    jti: str


def _string(payload: Mapping[str, Any], name: str) -> str:
    value = payload.get(name)
    if not isinstance(value, str) or not value:
        raise InvalidToken(f"claim {name!r} must be a non-empty string")
    return value


def _int(payload: Mapping[str, Any], name: str) -> int:
    value = payload.get(name)
    if type(value) is not int:  # bool is an int subclass, and a float is no NumericDate of ours
        raise InvalidToken(f"claim {name!r} must be an integer")
    return value


def claims_from_payload(payload: Mapping[str, Any]) -> AccessClaims:
    """Typed claims from a verified payload; any wrong type is an invalid token."""
    amr = payload.get("amr")
    if not isinstance(amr, list) or not amr or not all(isinstance(m, str) for m in amr):
        raise InvalidToken("claim 'amr' must be a non-empty list of strings")
    role = payload.get("role")
    if role is not None and not isinstance(role, str):
        raise InvalidToken("claim 'role' must be a string")
    elevated = None if payload.get("elevated_until") is None else _int(payload, "elevated_until")
    second = (
        None if payload.get("second_factor_time") is None else _int(payload, "second_factor_time")
    )
    purpose = payload.get("purpose", FULL_PURPOSE)
    if not isinstance(purpose, str) or not purpose:
        raise InvalidToken("claim 'purpose' must be a non-empty string")
    return AccessClaims(
        iss=_string(payload, "iss"),
        aud=_string(payload, "aud"),
        sub=_string(payload, "sub"),
        sid=_string(payload, "sid"),
        jti=_string(payload, "jti"),
        iat=_int(payload, "iat"),
        exp=_int(payload, "exp"),
        amr=tuple(amr),
        auth_time=_int(payload, "auth_time"),
        elevated_until=elevated,
        role=role,
        second_factor_time=second,
        purpose=purpose,
        extra=MappingProxyType({k: v for k, v in payload.items() if k not in REGISTERED_CLAIMS}),
    )
