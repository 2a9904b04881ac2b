"""Every email twostep sends, rendered from the templates shipped in this package.

A :class:`MessageFactory` holds the context each message repeats (product name, public URL)
and has one method per purpose. Only the messages whose purpose is to deliver a code or a
link receive one, so a notification cannot leak a code by construction; no method takes a
secret or a password. Links must point under the configured public URL, never at a host a
request supplied. Values a user or client controls are cleaned of control characters,
shortened, and HTML-escaped by Jinja's autoescape; a user agent is summarised and stripped
of anything URL-like, and only an IP address literal is shown as the address
(:mod:`twostep.mail.useragent`).
"""

from __future__ import annotations

import functools
import re
import textwrap
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import jinja2

from twostep.mail.base import Message
from twostep.mail.useragent import describe_agent, shown_ip


@dataclass(frozen=True)
class EventContext:
    """When, and from where, a security event happened, as shown to the account owner.

    ``ip`` must be the address twostep attributed the request to (``Origin.ip``), never a
    header's text; anything but an IP address literal is left out of the mail.
    """

    at: datetime
    ip: str | None = None
    user_agent: str | None = None


_LABEL = re.compile(r"[A-Z][A-Za-z]*: {2,}")


@functools.cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("twostep.mail", "templates"),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default=False),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _clean(value: str | None, limit: int = 120) -> str | None:
    """A one-line, bounded rendering of a value someone else chose (or ``None``)."""
    if value is None:
        return None
    text = "".join(" " if unicodedata.category(ch)[0] in "CZ" else ch for ch in value)
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text or None


def _wrap(text: str, width: int = 76) -> str:
    """Wrap long plain-text lines at word boundaries; URLs and short lines stay whole.

    A ``Label:   value`` row keeps its value column when it wraps.
    """
    lines: list[str] = []
    for line in text.split("\n"):
        if len(line) <= width:
            lines.append(line)
            continue
        label = _LABEL.match(line)
        lines.extend(
            textwrap.wrap(
                line,
                width,
                subsequent_indent=" " * label.end() if label else "",
                break_long_words=False,
                break_on_hyphens=False,
            )
        )
    return "\n".join(lines)


def _when(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%d %B %Y, %H:%M UTC")


class MessageFactory:
    """Builds each twostep email for one deployment.

    ``issuer`` is the product name people know (shown in subjects and signatures) and
    ``public_url`` the origin they reach the service at; ``account_path`` is where the
    account's security settings live under it.
    """

    def __init__(self, issuer: str, public_url: str, *, account_path: str = "/account") -> None:
        issuer = issuer.strip()
        if not issuer or any(ch in issuer for ch in "\r\n"):
            raise ValueError("the issuer must be a non-empty single line")
        parts = urlsplit(public_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("the public URL must be an absolute http(s) URL")
        self.issuer = issuer
        self.public_url = public_url.rstrip("/")
        self.account_url = self.public_url + "/" + account_path.lstrip("/")

    # --- messages that deliver a code or a link ------------------------------------------

    def email_verification(
        self, to: str, code: str, link: str, *, expires_minutes: int = 10
    ) -> Message:
        """The code and link that prove ``to`` belongs to the person who registered it."""
        return self._render(
            "email_verification",
            to,
            f"Confirm your email address for {self.issuer}",
            code=code,
            link=self._own_link(link),
            expires_minutes=expires_minutes,
        )

    def email_sign_in_code(
        self,
        to: str,
        code: str,
        *,
        expires_minutes: int = 10,
        event: EventContext | None = None,
    ) -> Message:
        """A one-time sign-in code sent by email (a first step, never a second factor)."""
        return self._render(
            "email_sign_in_code",
            to,
            f"Your {self.issuer} sign-in code",
            code=code,
            expires_minutes=expires_minutes,
            **self._event(event),
        )

    def password_reset(
        self,
        to: str,
        link: str,
        *,
        expires_minutes: int = 60,
        event: EventContext | None = None,
    ) -> Message:
        """The single-use reset link; the reset still asks for the second factor."""
        return self._render(
            "password_reset",
            to,
            f"Reset your {self.issuer} password",
            link=self._own_link(link),
            expires_minutes=expires_minutes,
            **self._event(event),
        )

    def email_change_code(self, to: str, code: str, *, expires_minutes: int = 10) -> Message:
        """The code that confirms ``to`` as the account's new address."""
        return self._render(
            "email_change_code",
            to,
            f"Confirm your new email address for {self.issuer}",
            code=code,
            expires_minutes=expires_minutes,
        )

    # --- security notifications (never a code or a link with a token) ---------------------

    def email_changed(self, to: str, *, new_email: str, event: EventContext) -> Message:
        """Sent to the old address: the account now uses ``new_email`` (shown masked)."""
        local, _, domain = new_email.partition("@")
        masked = f"{local[:1]}***@{domain}"
        subject = f"The email address of your {self.issuer} account was changed"
        return self._render("email_changed", to, subject, new_email=masked, **self._event(event))

    def email_in_use(self, to: str, *, event: EventContext) -> Message:
        """Sent to an address that another account tried to move to: nothing changed.

        Asking to move to a taken address answers exactly like a free one (no enumeration,
        DESIGN §4.6); the owner of the taken address hears of it instead.
        """
        subject = f"Someone tried to use your email address on {self.issuer}"
        return self._render("email_in_use", to, subject, **self._event(event))

    def two_factor_enabled(self, to: str, *, event: EventContext) -> Message:
        """Two-factor authentication was turned on."""
        subject = f"Two-factor authentication is on for your {self.issuer} account"
        return self._render("two_factor_enabled", to, subject, **self._event(event))

    def two_factor_disabled(self, to: str, *, event: EventContext) -> Message:
        """Two-factor authentication was turned off."""
        subject = f"Two-factor authentication was turned off for your {self.issuer} account"
        return self._render("two_factor_disabled", to, subject, **self._event(event))

    def backup_code_used(self, to: str, *, remaining: int, event: EventContext) -> Message:
        """A backup code was spent; says how many are left."""
        if remaining < 0:
            raise ValueError("remaining backup codes cannot be negative")
        subject = f"A backup code was used on your {self.issuer} account"
        return self._render(
            "backup_code_used", to, subject, remaining=remaining, **self._event(event)
        )

    def backup_codes_regenerated(self, to: str, *, event: EventContext) -> Message:
        """A new batch of backup codes replaced the old one (the codes are not in the mail)."""
        subject = f"New backup codes were created for your {self.issuer} account"
        return self._render("backup_codes_regenerated", to, subject, **self._event(event))

    def new_device(self, to: str, *, device_name: str, event: EventContext) -> Message:
        """An authenticator device was added and confirmed."""
        subject = f"A new authenticator was added to your {self.issuer} account"
        return self._render(
            "new_device",
            to,
            subject,
            device_name=_clean(device_name, 64) or "unnamed device",
            **self._event(event),
        )

    def account_locked(self, to: str, *, until: datetime, event: EventContext) -> Message:
        """Too many failed attempts locked sign-in until ``until``."""
        subject = f"Sign-in to your {self.issuer} account is temporarily locked"
        return self._render("account_locked", to, subject, until=_when(until), **self._event(event))

    def password_changed(self, to: str, *, event: EventContext) -> Message:
        """The password was changed from a signed-in session."""
        subject = f"Your {self.issuer} password was changed"
        return self._render("password_changed", to, subject, **self._event(event))

    def password_reset_done(self, to: str, *, event: EventContext) -> Message:
        """The password was reset through the emailed link; every session was signed out."""
        subject = f"Your {self.issuer} password was reset"
        return self._render("password_reset_done", to, subject, **self._event(event))

    def two_factor_reset_by_admin(self, to: str, *, event: EventContext) -> Message:
        """An administrator removed the account's devices and backup codes."""
        subject = f"An administrator reset two-factor authentication on your {self.issuer} account"
        return self._render("two_factor_reset_by_admin", to, subject, **self._event(event))

    # --- plumbing ---------------------------------------------------------------------------

    def _own_link(self, link: str) -> str:
        if not (link == self.public_url or link.startswith(self.public_url + "/")):
            raise ValueError("links in mail must point under the configured public URL")
        return link

    @staticmethod
    def _event(event: EventContext | None) -> dict[str, str | None]:
        if event is None:
            return {"when": None, "ip": None, "user_agent": None}
        return {
            "when": _when(event.at),
            "ip": shown_ip(event.ip),
            "user_agent": describe_agent(event.user_agent),
        }

    def _render(self, name: str, to: str, subject: str, **values: Any) -> Message:
        context = {
            "issuer": self.issuer,
            "public_url": self.public_url,
            "account_url": self.account_url,
            **values,
        }
        env = _environment()
        text = _wrap(env.get_template(f"{name}.txt").render(context))
        html = env.get_template(f"{name}.html").render(context)
        return Message(to=to, subject=subject, text=text, html=html, tag=name)
