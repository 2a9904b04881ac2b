"""Outgoing email: the :class:`Mailer` protocol, its implementations and the messages.

Services take a :class:`Mailer` and a :class:`MessageFactory`; :func:`build_mailer` picks
the implementation from the settings, so no module here reads configuration or opens a
connection at import time.
"""

from __future__ import annotations

from twostep.clock import Clock
from twostep.config import Settings
from twostep.mail.base import Mailer, Message, TransientMailError
from twostep.mail.messages import EventContext, MessageFactory
from twostep.mail.outbox import MemoryMailer, Outbox, StoredMessage
from twostep.mail.smtp import InvalidMailURL, SMTPMailer

__all__ = [
    "EventContext",
    "InvalidMailURL",
    "Mailer",
    "MemoryMailer",
    "Message",
    "MessageFactory",
    "Outbox",
    "SMTPMailer",
    "StoredMessage",
    "TransientMailError",
    "build_mailer",
    "message_factory",
]


def build_mailer(settings: Settings, clock: Clock) -> Mailer:
    """SMTP when ``smtp_url`` is set, else the outbox (development only).

    Settings already refused a malformed SMTP URL, and production without one. What is left
    needs the file system: a ``?cafile`` that cannot be loaded raises
    :class:`InvalidMailURL` (a :class:`~twostep.errors.ConfigurationError`) here.
    """
    if settings.smtp_url is not None:
        return SMTPMailer.from_url(
            settings.smtp_url.get_secret_value(), from_address=settings.mail_from, clock=clock
        )
    assert settings.is_development  # noqa: S101 - Settings requires TWOSTEP_SMTP_URL in production
    return Outbox(settings.data_dir / "outbox", clock)


def message_factory(settings: Settings) -> MessageFactory:
    """The :class:`MessageFactory` for this deployment's issuer and public URL."""
    return MessageFactory(settings.issuer, settings.public_url)
