"""Protect another app's routes with tokens issued by a twostep service.

The app verifies tokens offline, with the service's public keys (:class:`JWKSClient`) or a
shared HS256 secret, and decides per route what it needs: a valid token, a second factor, a
live elevation, a claim. Pick the adapter that fits: FastAPI dependencies
(:mod:`.fastapi`), an ASGI middleware for path prefixes (:mod:`.asgi`), or decorators for
handlers taking a ``Request`` (:mod:`.decorators`). All three share one :class:`Guard`, so they
answer alike: 401 for no or a bad token, 403 ``ELEVATION_REQUIRED`` (with ``step_up_url``) or
``MISSING_CLAIM``, each as ``{"error": {"code": ..., "message": ...}}``.

This package depends on token verification only, never on the service's database or web app.
"""

from __future__ import annotations

from twostep.integrations.client import IntrospectionClient, JWKSClient, TwostepUnavailable
from twostep.integrations.policy import DEFAULT_STEP_UP_URL, Answer, Guard, Requirement, Rule

__all__ = [
    "DEFAULT_STEP_UP_URL",
    "Answer",
    "Guard",
    "IntrospectionClient",
    "JWKSClient",
    "Requirement",
    "Rule",
    "TwostepUnavailable",
]
