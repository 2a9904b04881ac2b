"""The claims of a twostep access token, and their strict reading from a verified payload.

Invariant: a payload becomes :class:`AccessClaims` only with every required claim present and
of its exact type. A token that verifies but carries ``"exp": "soon"`` is as invalid as a forged
one, so no check downstream ever meets a value of the wrong type.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from twostep.errors import InvalidToken

REQUIRED_CLAIMS = ("iss", "aud", "sub", "sid", "jti", "iat", "exp", "amr", "auth_time")
REGISTERED_CLAIMS = frozenset({*REQUIRED_CLAIMS, "elevated_until", "role", "nbf"})
SECOND_FACTORS = frozenset({"otp", "backup"})


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
    extra: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def is_elevated(self, now: float) -> bool:
        """Whether the session was stepped up and the elevation has not yet run out."""
        return self.elevated_until is not None and now < self.elevated_until

    def has_second_factor(self) -> bool:
        """Whether a TOTP or backup code was part of this authentication."""
        return not SECOND_FACTORS.isdisjoint(self.amr)

    def two_factor_age(self, now: float) -> int | None:
        """Seconds since the authentication that included a second factor; ``None`` if none."""
        return max(0, int(now - self.auth_time)) if self.has_second_factor() else None

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
        extra=MappingProxyType({k: v for k, v in payload.items() if k not in REGISTERED_CLAIMS}),
    )
