"""Settings, read from ``TWOSTEP_*`` environment variables.

Nothing is read at import time: build a :class:`Settings` where it is needed, so tests can
hold many side by side. Production settings refuse development-only conveniences.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from twostep.errors import ConfigurationError

Environment = Literal["development", "production"]


class Settings(BaseSettings):
    """Every knob of a twostep deployment, with safe defaults."""

    model_config = SettingsConfigDict(env_prefix="TWOSTEP_", extra="ignore")

    env: Environment = "development"
    data_dir: Path = Path("data")
    database_url: str | None = None
    public_url: str = "http://127.0.0.1:8000"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)

    smtp_url: SecretStr | None = None
    mail_from: str = "twostep <no-reply@localhost>"
    keyring: str | None = None
    issuer: str = "twostep"

    mfa: Literal["optional", "required"] = "optional"
    enroll_at_registration: bool = False
    otp_provider: str = "totp"
    totp_window: int = Field(default=1, ge=0, le=10)
    lockout_threshold: int = Field(default=5, ge=1, le=100)
    lockout_minutes: int = Field(default=15, ge=1)
    elevation_minutes: int = Field(default=15, ge=1, le=24 * 60)
    challenge_seconds: int = Field(default=300, ge=30, le=3600)
    challenge_attempts: int = Field(default=5, ge=1, le=20)
    session_days: int = Field(default=30, ge=1, le=365)
    password_lockout_threshold: int = Field(default=10, ge=3, le=100)
    password_lockout_minutes: int = Field(default=5, ge=1)
    email_code_cooldown_seconds: int = Field(default=60, ge=0, le=3600)
    reset_token_minutes: int = Field(default=60, ge=5, le=24 * 60)

    token_algorithm: Literal["EdDSA", "HS256"] = "EdDSA"
    token_secret: SecretStr | None = None
    token_audience: str = "twostep"
    access_token_minutes: int = Field(default=15, ge=1, le=60)
    introspection_client_id: str = "twostep-introspect"
    introspection_client_secret: SecretStr | None = None

    trusted_proxies: list[str] = Field(default_factory=list)
    redis_url: str | None = None
    max_body_bytes: int = Field(default=64 * 1024, ge=1024, le=10 * 1024 * 1024)
    login_rate_per_minute: int = Field(default=30, ge=1)
    account_rate_per_minute: int = Field(default=10, ge=1)
    metrics_token: SecretStr | None = None
    """When set, ``/metrics`` answers only ``Authorization: Bearer <token>``; public otherwise."""

    @model_validator(mode="after")
    def _production_is_strict(self) -> Settings:
        if self.otp_provider == "email":
            raise ConfigurationError("email codes are never a second factor: pick another provider")
        if self.env == "production":
            if self.otp_provider == "dev":
                raise ConfigurationError("the dev OTP provider cannot run in production")
            if not self.public_url.startswith("https://"):
                raise ConfigurationError("TWOSTEP_PUBLIC_URL must be https:// in production")
        if self.token_algorithm == "HS256" and (
            self.token_secret is None or len(self.token_secret.get_secret_value()) < 32
        ):
            raise ConfigurationError("HS256 tokens need TWOSTEP_TOKEN_SECRET of 32+ characters")
        if self.metrics_token is not None and len(self.metrics_token.get_secret_value()) < 16:
            raise ConfigurationError("TWOSTEP_METRICS_TOKEN must be 16+ characters")
        return self

    @property
    def token_issuer(self) -> str:
        """The ``iss`` of every access token: the public origin of this service."""
        return self.public_url.rstrip("/")

    @property
    def is_development(self) -> bool:
        return self.env == "development"

    @property
    def resolved_database_url(self) -> str:
        """The configured database, or SQLite inside the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'twostep.sqlite3').resolve()}"
