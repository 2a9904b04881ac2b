"""Access tokens for sessions: signed JWTs that name their session.

The service signs with the keyring's Ed25519 key (published at ``/.well-known/jwks.json``)
or, when configured, HS256 with a shared secret. A token carries ``elevated_until`` from its
session; the service itself still reads the session on every request, so revocation is
immediate here, and other apps see it through introspection.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from twostep.config import Settings
from twostep.errors import ConfigurationError
from twostep.security.tokens import (
    AccessClaims,
    IssuedToken,
    StaticKeys,
    TokenSigner,
    TokenVerifier,
)
from twostep.services import sessions
from twostep.services.context import Context
from twostep.web import schemas


class TokenService:
    """Issue and verify this service's access tokens."""

    def __init__(self, ctx: Context, settings: Settings) -> None:
        self.ctx = ctx
        self.elevation_window = timedelta(minutes=settings.elevation_minutes)
        ttl = settings.access_token_minutes * 60
        issuer, audience = settings.token_issuer, settings.token_audience
        if settings.token_algorithm == "HS256":
            assert settings.token_secret is not None  # noqa: S101 - Settings validated it
            secret = settings.token_secret.get_secret_value().encode()
            self.signer = TokenSigner.hs256(
                secret, issuer=issuer, audience=audience, ttl_seconds=ttl
            )
            keys = StaticKeys.hs256(secret)
        else:
            if ctx.keyring.signing_key_id is None:
                raise ConfigurationError(
                    "the keyring has no signing key: create one with 'twostep keys generate'"
                )
            self.signer = TokenSigner.ed25519(
                ctx.keyring, issuer=issuer, audience=audience, ttl_seconds=ttl
            )
            keys = StaticKeys.from_keyring(ctx.keyring)
        self.verifier = TokenVerifier(keys, issuer=issuer, audience=audience)

    def issue(self, user: sessions.User, session: sessions.UserSession) -> IssuedToken:
        """An access token for ``session`` of ``user``, as the service just read or wrote them."""
        auth_time = session.auth_time
        if session.elevated_until is not None:  # a step-up is the latest authentication
            stepped_up = session.elevated_until - self.elevation_window
            auth_time = max(auth_time, stepped_up)
        return self.signer.issue(
            subject=user.id,
            session_id=session.id,
            amr=list(session.amr),
            auth_time=auth_time,
            now=self.ctx.clock.now(),
            elevated_until=session.elevated_until,
            role=user.role,
            second_factor_time=session.second_factor_at,
            purpose=session.purpose,
        )

    def token_response(self, issued: sessions.IssuedSession) -> schemas.TokenResponse:
        """Access and refresh tokens for a session that was just opened or refreshed."""
        token = self.issue(issued.user, issued.session)
        return schemas.TokenResponse(
            access_token=token.token,
            expires_in=token.expires_in,
            refresh_token=issued.refresh_token,
        )

    def verify(self, token: str, *, now: datetime | None = None) -> AccessClaims:
        """The claims of a valid token, or :class:`~twostep.errors.InvalidToken`."""
        when = (now or self.ctx.clock.now()).timestamp()
        return self.verifier.verify(token, now=when)

    def jwks(self) -> dict[str, Any]:
        return self.signer.jwks()
