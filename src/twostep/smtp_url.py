"""What an SMTP URL (``TWOSTEP_SMTP_URL``) may say, read without opening anything.

One grammar serves two places: :class:`~twostep.config.Settings` refuses a bad URL when it
is built, and :meth:`twostep.mail.SMTPMailer.from_url` builds its mailer from the same
:class:`SMTPTarget`. It sits below both (it imports only :mod:`twostep.errors`), because
``twostep.mail`` itself reads the settings. Loading a ``?cafile`` needs the file system, so
that stays with the mailer. No message repeats the URL: it may hold a password.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import parse_qsl, unquote, urlsplit

from twostep.errors import ConfigurationError

Security = Literal["none", "starttls", "tls"]

_SCHEMES: dict[str, tuple[Security, int]] = {
    "smtp": ("none", 25),
    "smtp+starttls": ("starttls", 587),
    "smtps": ("tls", 465),
}
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class InvalidMailURL(ConfigurationError, ValueError):
    """An SMTP URL cannot be used; the message never repeats the URL (it holds a password)."""

    code = "INVALID_MAIL_URL"
    default_message = "The SMTP URL is malformed."


@dataclass(frozen=True, slots=True)
class SMTPTarget:
    """The server, transport security and credentials an SMTP URL names."""

    host: str
    port: int
    security: Security
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    verify: bool = True
    cafile: str | None = None


def check_credentials(
    host: str, security: Security, username: str | None, password: str | None
) -> None:
    """Raise ``ValueError`` unless the credentials can be sent safely as given.

    User name and password go together, are ASCII (smtplib sends them so), and never cross
    the network in the clear: plain SMTP with credentials is for loopback only.
    """
    if (username is None) != (password is None):
        raise ValueError("SMTP user name and password go together")
    if not (username or "").isascii() or not (password or "").isascii():
        raise ValueError("SMTP user name and password must be ASCII (smtplib sends them so)")
    if username is not None and security == "none" and not _is_loopback(host):
        raise ValueError(
            "refusing to send SMTP credentials in the clear to a remote host: "
            "use smtp+starttls:// or smtps://"
        )


def parse_smtp_url(url: str) -> SMTPTarget:
    """The :class:`SMTPTarget` of ``smtp://``, ``smtp+starttls://`` or ``smtps://`` ``url``.

    ``smtp://user:pass@host:port?starttls=true`` is the same as ``smtp+starttls://``.
    ``?verify=false`` turns off certificate checks, for self-signed development servers
    only; ``?cafile=/path/ca.pem`` trusts a private CA instead. User name and password are
    percent-decoded. Raises :class:`InvalidMailURL` (a ``ValueError``) otherwise.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise InvalidMailURL("the SMTP URL is malformed (check the host and port)") from None
    scheme = parts.scheme.lower()
    if scheme not in _SCHEMES:
        raise InvalidMailURL(
            f"unsupported SMTP URL scheme {scheme!r}: use smtp, smtp+starttls or smtps"
        )
    security, default_port = _SCHEMES[scheme]
    host = parts.hostname
    if not host:
        raise InvalidMailURL("the SMTP URL has no host")
    if parts.path not in ("", "/") or parts.fragment:
        raise InvalidMailURL("the SMTP URL must not have a path or fragment")
    verify = True
    cafile: str | None = None
    for key, value in parse_qsl(parts.query, keep_blank_values=True, strict_parsing=False):
        if key == "starttls":
            if _flag(key, value):
                if security == "tls":
                    raise InvalidMailURL("smtps:// already uses TLS; drop ?starttls")
                security = "starttls"
            elif security == "starttls":
                raise InvalidMailURL("smtp+starttls:// cannot turn STARTTLS off")
        elif key == "verify":
            verify = _flag(key, value)
        elif key == "cafile" and value:
            cafile = value
        else:
            raise InvalidMailURL(f"unknown SMTP URL parameter {key!r}")
    if security == "none" and (not verify or cafile):
        raise InvalidMailURL("verify and cafile only apply to STARTTLS or smtps://")
    username = unquote(parts.username or "") or None
    password = unquote(parts.password) if parts.password is not None else None
    if (username is None) != (password is None):
        raise InvalidMailURL("the SMTP URL needs both a user name and a password, or neither")
    try:
        check_credentials(host, security, username, password)
    except ValueError as exc:
        raise InvalidMailURL(str(exc)) from None
    return SMTPTarget(host, port or default_port, security, username, password, verify, cafile)


def _flag(name: str, value: str) -> bool:
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise InvalidMailURL(f"SMTP URL parameter {name!r} must be true or false")


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
