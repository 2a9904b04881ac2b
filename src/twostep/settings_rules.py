"""What a twostep configuration may be: every rule :class:`~twostep.config.Settings` enforces.

The rules live here, in one place, so that nothing built from the settings (the context,
the mailer, the OTP provider, the server) repeats a check of its own: a :class:`Settings`
that exists has passed them all, and every error names the variable to change. Two kinds:

* :data:`VALUE_RULES` judge one plain value as pydantic parses it, so a bad one is reported
  beside any type error, one line per variable.
* :func:`problems` judges values together ("production needs …"), once each one is valid,
  and also judges secrets, whose values must never appear in an error (pydantic's own
  errors repeat the input).

What only the outside world can answer stays where it is met, at build time: whether the
keyring file is readable (:func:`twostep.services.context.load_keyring`), a ``?cafile``
loads (:meth:`twostep.mail.SMTPMailer.from_url`), a custom OTP provider imports
(:func:`twostep.otp.providers.load_provider`), and the schema is current
(:func:`twostep.services.operations.prepare_database`).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from email.utils import parseaddr
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from twostep.smtp_url import InvalidMailURL, parse_smtp_url

if TYPE_CHECKING:
    from twostep.config import Settings

MIN_TOKEN_SECRET = 32
MIN_METRICS_TOKEN = 16
BUILTIN_PROVIDERS = ("totp", "dev")
_NAME = r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*"
_DOTTED = re.compile(rf"{_NAME}[:.]{_NAME}")  # package.module:Factory or package.module.Factory


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses; any other name or address is remote."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _networks(value: list[str]) -> None:
    for entry in value:
        try:
            ipaddress.ip_network(entry.strip(), strict=False)
        except ValueError:
            raise ValueError(f"{entry[:40]!r} is not an IP address or network") from None


def _database(value: str | None) -> None:
    if value is not None and not value.startswith(("sqlite:", "postgresql:", "postgresql+")):
        raise ValueError("must be a sqlite:// or postgresql:// URL")


def _redis(value: str | None) -> None:
    if value is not None and urlsplit(value).scheme not in ("redis", "rediss", "unix"):
        raise ValueError("must be a redis://, rediss:// or unix:// URL")


def _origin(value: str) -> None:
    parts = urlsplit(value)
    if value and (parts.scheme not in ("http", "https") or not parts.hostname):
        raise ValueError("must be an absolute http(s) URL")


def _sender(value: str) -> None:
    if "@" not in parseaddr(value)[1]:
        raise ValueError("must contain an email address")


def _issuer(value: str) -> None:
    if not value.strip() or any(ch in value for ch in "\r\n"):
        raise ValueError("must be a non-empty single line")


def _provider(value: str) -> None:
    spec = value.strip()
    if spec == "email":
        raise ValueError("email codes are never a second factor")
    if spec not in BUILTIN_PROVIDERS and not _DOTTED.fullmatch(spec):
        raise ValueError("must be totp, dev or a dotted path such as package.module:Factory")


_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_COOKIE_DOMAIN = re.compile(rf"{_LABEL}(?:\.{_LABEL})+")


def _cookie_domain(value: str | None) -> None:
    if value is not None and not _COOKIE_DOMAIN.fullmatch(value):
        raise ValueError("must be a lower-case domain name such as example.com (no scheme, port)")


def in_domain(host: str, domain: str) -> bool:
    """``host`` is ``domain`` or one of its subdomains (both lower case)."""
    return host == domain or host.endswith("." + domain)


VALUE_RULES: dict[str, Callable[[Any], None]] = {
    "cookie_domain": _cookie_domain,
    "trusted_proxies": _networks,
    "database_url": _database,
    "redis_url": _redis,
    "public_url": _origin,
    "mail_from": _sender,
    "issuer": _issuer,
    "otp_provider": _provider,
}
"""Field name → a check that raises ``ValueError`` (its text is the problem) for a bad value."""


def problems(settings: Settings) -> list[tuple[str, str]]:
    """``(field, problem)`` for every rule ``settings`` breaks; empty when it may run."""
    found: list[tuple[str, str]] = []
    if settings.env == "production":
        found += _production(settings)
    elif not is_loopback(settings.host) and not settings.allow_remote_dev:
        found.append(("host", _remote_dev(settings.host)))
    if settings.token_algorithm == "HS256" and (
        settings.token_secret is None
        or len(settings.token_secret.get_secret_value()) < MIN_TOKEN_SECRET
    ):
        found.append(("token_secret", f"HS256 tokens need {MIN_TOKEN_SECRET}+ characters"))
    found += _single_sign_on(settings)
    metrics = settings.metrics_token
    if metrics is not None and len(metrics.get_secret_value()) < MIN_METRICS_TOKEN:
        found.append(("metrics_token", f"must be {MIN_METRICS_TOKEN}+ characters"))
    rp_id = settings.webauthn_rp_id
    if rp_id is not None:
        host = (urlsplit(settings.public_url).hostname or "") if settings.public_url else ""
        host = (host or settings.host).lower()
        if rp_id.lower() != host and not host.endswith("." + rp_id.lower()):
            found.append(("webauthn_rp_id", "must be the host of PUBLIC_URL or a parent domain"))
    if settings.smtp_url is not None:
        try:
            parse_smtp_url(settings.smtp_url.get_secret_value())
        except InvalidMailURL as exc:
            found.append(("smtp_url", exc.message))
    return found


def _production(settings: Settings) -> list[tuple[str, str]]:
    """Production refuses every development convenience (DESIGN §4.14)."""
    found: list[tuple[str, str]] = []
    if settings.otp_provider.strip() == "dev":
        found.append(("otp_provider", "the dev OTP provider cannot run in production"))
    if not settings.public_url:
        found.append(("public_url", "is required in production"))
    elif not settings.public_url.startswith("https://"):
        found.append(("public_url", "must be https:// in production"))
    if not settings.keyring:
        found.append(
            ("keyring", "is required in production: create one with 'twostep keys generate FILE'")
        )
    if settings.smtp_url is None:
        found.append(("smtp_url", "is required in production (there is no outbox)"))
    return found


def _single_sign_on(settings: Settings) -> list[tuple[str, str]]:
    """The cookie domain must cover twostep itself, or its cookie would never be set."""
    found: list[tuple[str, str]] = []
    if not settings.cookie_secure and settings.env == "production":
        found.append(("cookie_secure", "production sends the sign-on cookie over https only"))
    host = (urlsplit(settings.public_url).hostname or "") if settings.public_url else ""
    domain = settings.cookie_domain
    if domain and host and not in_domain(host, domain):
        found.append(("cookie_domain", f"must contain the host of TWOSTEP_PUBLIC_URL ({host})"))
    return found


def _remote_dev(host: str) -> str:
    return (
        f"development serves its mailbox (every code and link) to anyone who reaches {host}; "
        "bind a loopback address, set TWOSTEP_ENV=production, or allow it with "
        "TWOSTEP_ALLOW_REMOTE_DEV=true (twostep serve --allow-remote-dev)"
    )
