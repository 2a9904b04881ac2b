"""Settings, read from ``TWOSTEP_*`` environment variables.

Nothing is read at import time: build a :class:`Settings` where it is needed, so tests can
hold many side by side. Every rule about what a configuration may be (production refuses
development-only conveniences, and more) lives in :mod:`twostep.settings_rules` and runs
while a :class:`Settings` is built, so whatever is built from one trusts it.

An empty variable counts as unset. A bad value is reported by :func:`load_settings` as one
line per variable, naming it, the problem and an example, never echoing a secret. Every
field's ``description`` is also the README's configuration table (:func:`settings_table`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict, SettingsError

from twostep import settings_rules as rules
from twostep.errors import ConfigurationError

Environment = Literal["development", "production"]
ENV_PREFIX = "TWOSTEP_"


def env_name(field: str) -> str:
    """The environment variable of a settings field: ``port`` is ``TWOSTEP_PORT``."""
    return ENV_PREFIX + field.upper()


class Settings(BaseSettings):
    """Every knob of a twostep deployment, with safe defaults."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", env_ignore_empty=True)

    # --- environment and storage --------------------------------------------------------
    env: Environment = Field(
        default="development",
        description="`development` (SQLite, generated keyring, mail to the outbox and "
        "`/dev/mailbox`) or `production` (every safety check on).",
        examples=["production"],
    )
    data_dir: Path = Field(
        default=Path("data"),
        description="Directory (0700) for the SQLite database, the development keyring "
        "and the outbox.",
        examples=["/var/lib/twostep"],
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; unset means SQLite in `DATA_DIR`. "
        "`postgresql://…` for PostgreSQL.",
        examples=["postgresql://twostep@localhost/twostep"],
    )
    public_url: str = Field(
        default="",
        description="Origin users reach twostep at: mail links and the token issuer are "
        "built from it, never from the Host header. Required (https) in production; "
        "development follows the host and port served.",
        examples=["https://auth.example.com"],
    )
    host: str = Field(
        default="127.0.0.1",
        description="Address `twostep serve` binds (development: loopback only, unless "
        "`ALLOW_REMOTE_DEV`).",
        examples=["127.0.0.1"],
    )
    port: int = Field(
        default=8000, ge=1, le=65535, description="Port `twostep serve` binds.", examples=[8000]
    )
    workers: int = Field(
        default=1,
        ge=1,
        le=64,
        description="Worker processes `twostep serve` starts (`--workers` sets it). Password "
        "hashes run at most one per CPU core across them, each process taking its share, so "
        "a storm of sign-ins queues instead of starving the event loops.",
        examples=[2],
    )
    allow_remote_dev: bool = Field(
        default=False,
        description="Let development bind beyond loopback (`twostep serve --allow-remote-dev` "
        "sets it): its mailbox shows every code and link to whoever reaches it.",
        examples=[True],
    )

    # --- mail -----------------------------------------------------------------------------
    smtp_url: SecretStr | None = Field(
        default=None,
        description="SMTP server (`smtp://`, `smtp+starttls://`, `smtps://`). Required in "
        "production; development without it writes mail to the outbox.",
        examples=["smtp+starttls://user:password@mail.example.com:587"],
    )
    mail_from: str = Field(
        default="twostep <no-reply@localhost>",
        description="From address of every mail.",
        examples=["twostep <no-reply@example.com>"],
    )

    # --- keys and tokens --------------------------------------------------------------
    keyring: str | None = Field(
        default=None,
        description="Keyring file (or its JSON) that encrypts secrets at rest and signs "
        "tokens. Required in production (`twostep keys generate FILE`); development "
        "generates `DATA_DIR/keyring.json`.",
        examples=["/etc/twostep/keyring.json"],
    )
    issuer: str = Field(
        default="twostep",
        description="Name shown in authenticator apps and mail.",
        examples=["Example Corp"],
    )
    token_algorithm: Literal["EdDSA", "HS256"] = Field(
        default="EdDSA",
        description="Access-token signature: `EdDSA` (keys at `/.well-known/jwks.json`) or "
        "`HS256` with `TOKEN_SECRET`.",
        examples=["EdDSA"],
    )
    token_secret: SecretStr | None = Field(
        default=None,
        description="Shared HS256 secret, 32+ characters.",
        examples=["a-shared-secret-of-at-least-32-characters"],
    )
    token_audience: str = Field(
        default="twostep", description="`aud` of access tokens.", examples=["my-apps"]
    )
    access_token_minutes: int = Field(
        default=15, ge=1, le=60, description="Access-token lifetime.", examples=[15]
    )
    introspection_client_id: str = Field(
        default="twostep-introspect",
        description="Client id for `POST /api/v1/introspect`.",
        examples=["my-app"],
    )
    introspection_client_secret: SecretStr | None = Field(
        default=None,
        description="Client secret for introspection; unset turns introspection off.",
        examples=["an-introspection-secret"],
    )

    # --- policy -------------------------------------------------------------------------
    mfa: Literal["optional", "required"] = Field(
        default="optional",
        description="`required` makes every account enrol a second factor.",
        examples=["required"],
    )
    enroll_at_registration: bool = Field(
        default=False, description="Ask for an authenticator right after sign-up.", examples=[True]
    )
    otp_provider: str = Field(
        default="totp",
        description="`totp`, `dev` (development only) or `package.module:Factory`.",
        examples=["totp"],
    )
    totp_window: int = Field(
        default=1, ge=0, le=10, description="TOTP steps accepted either side of now.", examples=[1]
    )
    lockout_threshold: int = Field(
        default=5, ge=1, le=100, description="Failed codes before a lockout.", examples=[5]
    )
    lockout_minutes: int = Field(
        default=15, ge=1, description="First lockout after failed codes.", examples=[15]
    )
    elevation_minutes: int = Field(
        default=15,
        ge=1,
        le=24 * 60,
        description="How long a step-up lasts for sensitive changes.",
        examples=[15],
    )
    challenge_seconds: int = Field(
        default=300, ge=30, le=3600, description="Lifetime of a sign-in challenge.", examples=[300]
    )
    webauthn_rp_id: str | None = Field(
        default=None,
        description="WebAuthn relying party id for security keys and passkeys; unset means "
        "the host of `PUBLIC_URL`. A parent domain of that host keeps keys working across "
        "subdomains.",
        examples=["example.com"],
    )
    remember_days: int = Field(
        default=30,
        ge=0,
        le=365,
        description='How long "don\'t ask for a code on this browser" lasts; `0` turns '
        "the option off.",
        examples=[30],
    )
    challenge_attempts: int = Field(
        default=5, ge=1, le=20, description="Codes tried on one challenge.", examples=[5]
    )
    session_days: int = Field(
        default=30, ge=1, le=365, description="Lifetime of a session.", examples=[30]
    )
    password_lockout_threshold: int = Field(
        default=10, ge=3, le=100, description="Failed passwords before a lockout.", examples=[10]
    )
    password_lockout_minutes: int = Field(
        default=5, ge=1, description="Lockout after failed passwords.", examples=[5]
    )
    email_code_cooldown_seconds: int = Field(
        default=60, ge=0, le=3600, description="Wait before another email code.", examples=[60]
    )
    reset_token_minutes: int = Field(
        default=60, ge=5, le=24 * 60, description="Lifetime of a reset link.", examples=[60]
    )

    # --- edge and operations --------------------------------------------------------------
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Proxies whose `X-Forwarded-For` is believed: comma-separated or JSON "
        "list of addresses or networks.",
        examples=["127.0.0.1,10.0.0.0/8"],
    )
    redis_url: str | None = Field(
        default=None,
        description="Redis for per-address rate limits shared by every node.",
        examples=["redis://localhost:6379/0"],
    )
    request_threads: int | None = Field(
        default=None,
        ge=1,
        le=256,
        description="Threads per worker process that run the database work of requests "
        "(default 4 on SQLite, which has one writer at a time, and 16 on PostgreSQL); a "
        "PostgreSQL pool keeps as many connections, and 4 more for background jobs.",
        examples=[16],
    )
    max_body_bytes: int = Field(
        default=64 * 1024,
        ge=1024,
        le=10 * 1024 * 1024,
        description="Largest request body.",
        examples=[65536],
    )
    login_rate_per_minute: int = Field(
        default=30, ge=1, description="Sign-in requests per address per minute.", examples=[30]
    )
    account_rate_per_minute: int = Field(
        default=10, ge=1, description="Requests per account per minute.", examples=[10]
    )
    metrics_token: SecretStr | None = Field(
        default=None,
        description="16+ characters; `/metrics` then needs `Authorization: Bearer <token>`. "
        "Unset, `/metrics` is public.",
        examples=["a-long-random-scrape-token"],
    )
    # --- forward authentication -------------------------------------------------------
    cookie_domain: str | None = Field(
        default=None,
        description="Parent domain of the single-sign-on cookie that reverse proxies send to "
        "`/api/v1/forward-auth` (twostep at `auth.example.com`, apps at `*.example.com`); "
        "sign-in returns only to URLs on it. Unset turns single sign-on off.",
        examples=["example.com"],
    )
    cookie_secure: bool = Field(
        default=True,
        description="`false` lets the single-sign-on cookie travel over plain http: "
        "development only.",
        examples=[False],
    )
    access_rules: Path | None = Field(
        default=None,
        description="TOML file of forward-auth access rules (domain, path, method, network "
        "→ `bypass`, `one_factor`, `two_factor`, `deny`), read and checked at start; "
        "`twostep rules check FILE`. Unset denies every proxied request.",
        examples=["/etc/twostep/rules.toml"],
    )
    audit_days: int = Field(
        default=365, ge=1, description="Days audit events are kept before the purge.",
        examples=[365],
    )  # fmt: skip

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split_list(cls, value: Any) -> Any:
        """``127.0.0.1,10.0.0.0/8`` or ``["127.0.0.1", "10.0.0.0/8"]``."""
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                try:
                    return json.loads(text)
                except ValueError:
                    raise ValueError("not a valid JSON list") from None
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    @field_validator(*rules.VALUE_RULES)
    @classmethod
    def _value_rule(cls, value: Any, info: ValidationInfo) -> Any:
        """One variable alone: the rule of :data:`twostep.settings_rules.VALUE_RULES`."""
        rules.VALUE_RULES[str(info.field_name)](value)
        return value

    @model_validator(mode="after")
    def _rules(self) -> Settings:
        """Variables together (:func:`twostep.settings_rules.problems`), one line each."""
        problems = rules.problems(self)
        if problems:
            raise ConfigurationError("\n".join(problem_line(f, text) for f, text in problems))
        if not self.public_url:  # development: links follow the host and port served
            self.public_url = development_url(self.host, self.port)
        return self

    @property
    def token_issuer(self) -> str:
        """The ``iss`` of every access token: the public origin of this service."""
        return self.public_url.rstrip("/")

    @property
    def webauthn_rp_id_or_host(self) -> str:
        """The WebAuthn relying party id: ``WEBAUTHN_RP_ID``, else the host of ``PUBLIC_URL``."""
        return self.webauthn_rp_id or (urlsplit(self.public_url).hostname or "localhost")

    @property
    def is_development(self) -> bool:
        return self.env == "development"

    @property
    def threads(self) -> int:
        """:attr:`request_threads`, or its default for the configured database."""
        if self.request_threads is not None:
            return self.request_threads
        return 4 if self.resolved_database_url.startswith("sqlite") else 16

    @property
    def hash_slots(self) -> int:
        """Password hashes one process runs at once: its share of the usable cores (≥ 1)."""
        try:
            cores = len(os.sched_getaffinity(0))
        except AttributeError:  # pragma: no cover - not Linux
            cores = os.cpu_count() or 1
        return max(1, cores // self.workers)

    @property
    def resolved_database_url(self) -> str:
        """The configured database, or SQLite inside the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'twostep.sqlite3').resolve()}"


def development_url(host: str, port: int) -> str:
    """The origin a development server is reached at: its own host and port.

    A wildcard bind (``0.0.0.0``) is not an address to open, so links use loopback.
    """
    if host in ("0.0.0.0", "::", ""):  # noqa: S104 - a name for the wildcard, not a bind
        host = "127.0.0.1"
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}"


def problem_line(field: str, problem: str) -> str:
    """``TWOSTEP_PORT: must be at most 65535 (e.g. TWOSTEP_PORT=8000)``."""
    info = Settings.model_fields.get(field)
    examples = (info.examples if info else None) or []
    example = f" (e.g. {env_name(field)}={examples[0]})" if examples else ""
    return f"{env_name(field)}: {problem}{example}"


def _problem(error: Any) -> str:
    message = str(error.get("msg", "invalid value"))
    message = message.removeprefix("Value error, ")
    return message[:1].lower() + message[1:]


def load_settings(**values: Any) -> Settings:
    """:class:`Settings` from the environment (and ``values``), or one clear error.

    Raises :class:`~twostep.errors.ConfigurationError` whose message has one line per bad
    variable: its name, the problem, an example. The value itself is never repeated (it
    may be a password).
    """
    try:
        return Settings(**values)
    except ValidationError as exc:
        lines: list[str] = []
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else ""
            line = problem_line(field, _problem(error))
            if line not in lines:
                lines.append(line)
        raise ConfigurationError("\n".join(lines)) from None
    except SettingsError as exc:  # a value pydantic-settings could not even decode
        raise ConfigurationError(str(exc)) from None


def settings_table() -> str:
    """The README's configuration table, rendered from the fields of :class:`Settings`."""
    rows = ["| Variable | Default | What it does |", "|---|---|---|"]
    for name, info in Settings.model_fields.items():
        default: object = info.get_default(call_default_factory=True)
        if isinstance(default, Path):
            default = str(default)
        elif isinstance(default, bool):  # as the variable is written
            default = str(default).lower()
        shown = "" if default in (None, "", []) else f"`{default}`"
        rows.append(f"| `{env_name(name)}` | {shown} | {info.description} |")
    return "\n".join(rows) + "\n"
