"""The message value and the :class:`Mailer` extension point.

Services depend only on :class:`Mailer`, so a deployment can swap SMTP for the development
outbox, a test double or a provider's HTTP API without touching a use case. A mailer either
hands the message over or raises :class:`~twostep.errors.MailError`; it never swallows a
failure, and it never logs a message body (bodies carry one-time codes and reset links).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from twostep.errors import MailError


def _check_header(name: str, value: str) -> None:
    if any(ch in value for ch in "\r\n\x00"):
        raise ValueError(f"message {name} must be a single line")


@dataclass(frozen=True)
class Message:
    """One email to one recipient: a plain-text body and an optional HTML alternative.

    ``tag`` names the purpose (``"password_reset"``, ``"new_device"`` …) so outboxes, logs
    and providers can group messages without reading their content. Header fields are
    refused if they span lines, which closes header injection at the source.
    """

    to: str
    subject: str
    text: str
    html: str | None = None
    tag: str = ""

    def __post_init__(self) -> None:
        if not self.to.strip():
            raise ValueError("message recipient must not be empty")
        _check_header("recipient", self.to)
        _check_header("subject", self.subject)
        _check_header("tag", self.tag)


class TransientMailError(MailError):
    """A failure worth trying again later: a 4xx reply, a timeout, a refused connection.

    The background mail queue retries these with backoff; any other :class:`MailError` is
    final (a 5xx reply, bad credentials, a certificate that fails verification).
    """

    code = "MAIL_TRANSIENT"


@runtime_checkable
class Mailer(Protocol):
    """Something that delivers a :class:`Message`, or raises ``MailError`` trying.

    Implementations must be safe to call from several threads, must not log bodies, and
    must raise :class:`~twostep.errors.MailError` (with no credentials in its text) for any
    delivery failure, so the caller can record it and carry on; raise
    :class:`TransientMailError` for a failure that may pass (the queue then retries). A
    custom mailer is a class with one method; for example, one that posts to a provider's HTTP API::

        import httpx

        from twostep.errors import MailError
        from twostep.mail import Message


        class ProviderMailer:
            def __init__(self, api_key: str, sender: str) -> None:
                self._api_key = api_key
                self._sender = sender

            def send(self, message: Message) -> None:
                payload = {
                    "from": self._sender,
                    "to": message.to,
                    "subject": message.subject,
                    "text": message.text,
                    "html": message.html,
                    "tag": message.tag,
                }
                try:
                    response = httpx.post(
                        "https://mail.example.com/v1/send",
                        json=payload,
                        headers={"Authorization": f"Bearer {self._api_key}"},
                        timeout=10,
                    )
                    response.raise_for_status()
                except httpx.HTTPError as exc:
                    raise MailError(f"mail provider refused the message: {exc}") from exc
    """

    def send(self, message: Message) -> None:
        """Deliver ``message`` or raise :class:`~twostep.errors.MailError`."""
        ...
