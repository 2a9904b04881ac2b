"""Delivery over SMTP, configured from one URL.

Each :meth:`SMTPMailer.send` opens its own connection, so the mailer holds no socket and is
safe to share between threads and workers. TLS certificates are verified by default, and
credentials are never sent in the clear to a host other than loopback. Every failure
becomes a :class:`~twostep.errors.MailError` whose text names the server and the reason,
never the user name or password; bodies are never logged.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime, make_msgid, parseaddr

from twostep.clock import Clock, SystemClock
from twostep.errors import MailError
from twostep.mail.base import Message, TransientMailError
from twostep.smtp_url import InvalidMailURL, Security, check_credentials, parse_smtp_url

__all__ = ["InvalidMailURL", "SMTPMailer", "Security"]  # the URL's grammar is in smtp_url

logger = logging.getLogger(__name__)


class SMTPMailer:
    """A :class:`~twostep.mail.base.Mailer` that talks to an SMTP server.

    ``security`` is ``"none"`` (plain SMTP), ``"starttls"`` (upgrade required; a server
    without STARTTLS is an error, never a silent downgrade) or ``"tls"`` (implicit TLS).
    Most deployments build it with :meth:`from_url`.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        from_address: str,
        security: Security = "none",
        username: str | None = None,
        password: str | None = None,
        timeout: float = 10.0,
        ssl_context: ssl.SSLContext | None = None,
        clock: Clock | None = None,
    ) -> None:
        if not host:
            raise ValueError("SMTP host must not be empty")
        if not 0 < port < 65536:
            raise ValueError("SMTP port must be between 1 and 65535")
        if timeout <= 0:
            raise ValueError("SMTP timeout must be positive")
        check_credentials(host, security, username, password)
        _, sender = parseaddr(from_address)
        if "@" not in sender:
            raise ValueError("the from address must contain an email address")
        self.host = host
        self.port = port
        self.security: Security = security
        self.username = username
        self._password = password
        self.from_address = from_address
        self.timeout = timeout
        self._sender = sender
        self._msgid_domain = sender.rpartition("@")[2]
        self._ssl_context = ssl_context
        self._clock: Clock = clock or SystemClock()

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        from_address: str,
        timeout: float = 10.0,
        ssl_context: ssl.SSLContext | None = None,
        clock: Clock | None = None,
    ) -> SMTPMailer:
        """Build a mailer from an SMTP URL (:func:`twostep.smtp_url.parse_smtp_url`).

        Raises :class:`InvalidMailURL` (a ``ValueError``) for a URL that grammar refuses, and
        for a ``?cafile`` that cannot be loaded: only this step reads the file.
        """
        target = parse_smtp_url(url)
        if ssl_context is None and target.security != "none":
            try:
                ssl_context = _tls_context(verify=target.verify, cafile=target.cafile)
            except (OSError, ssl.SSLError):
                raise InvalidMailURL("the CA file named by ?cafile cannot be loaded") from None
        try:
            return cls(
                target.host,
                target.port,
                from_address=from_address,
                security=target.security,
                username=target.username,
                password=target.password,
                timeout=timeout,
                ssl_context=ssl_context,
                clock=clock,
            )
        except ValueError as exc:
            raise InvalidMailURL(str(exc)) from None

    def __repr__(self) -> str:
        auth = f", username={self.username!r}, password='***'" if self.username else ""
        return f"SMTPMailer(host={self.host!r}, port={self.port}, security={self.security!r}{auth})"

    def build(self, message: Message) -> EmailMessage:
        """The MIME message that :meth:`send` hands over: text, plus HTML as an alternative."""
        mime = EmailMessage(policy=SMTP_POLICY)
        mime["From"] = self.from_address
        mime["To"] = message.to
        mime["Subject"] = message.subject
        mime["Date"] = format_datetime(self._clock.now())
        mime["Message-ID"] = make_msgid(domain=self._msgid_domain)
        mime["Auto-Submitted"] = "auto-generated"
        if message.tag:
            mime["X-Twostep-Tag"] = message.tag
        mime.set_content(message.text)
        if message.html is not None:
            mime.add_alternative(message.html, subtype="html")
        return mime

    def send(self, message: Message) -> None:
        """Deliver ``message``; raise :class:`~twostep.errors.MailError` on any failure."""
        recipient = _recipient(message.to)
        mime = self.build(message)
        where = f"{self.host}:{self.port}"
        try:
            with self._connect() as smtp:
                if self.security == "starttls":
                    smtp.starttls(context=self._context())
                if self.username is not None and self._password is not None:
                    smtp.login(self.username, self._password)
                smtp.send_message(mime, from_addr=self._sender, to_addrs=[recipient])
        except smtplib.SMTPNotSupportedError as exc:
            raise MailError(f"SMTP server {where} does not support {_feature(exc)}") from None
        except smtplib.SMTPAuthenticationError as exc:
            raise MailError(
                f"SMTP server {where} refused the credentials ({exc.smtp_code})"
            ) from None
        except smtplib.SMTPRecipientsRefused as exc:
            replies = [code for code, _ in exc.recipients.values()]
            codes = ", ".join(str(code) for code in replies)
            error = _by_reply(all(_transient(code) for code in replies))
            raise error(f"SMTP server {where} refused the recipient ({codes})") from None
        except smtplib.SMTPSenderRefused as exc:
            raise _by_reply(_transient(exc.smtp_code))(
                f"SMTP server {where} refused the sender ({exc.smtp_code})"
            ) from None
        except smtplib.SMTPResponseException as exc:
            raise _by_reply(_transient(exc.smtp_code))(
                f"SMTP server {where} answered {exc.smtp_code}"
            ) from None
        except ssl.SSLCertVerificationError as exc:
            raise MailError(
                f"TLS certificate of {where} failed verification: {exc.verify_message}"
            ) from None
        except ssl.SSLError as exc:
            raise MailError(f"TLS with {where} failed: {exc.reason or 'handshake error'}") from None
        except TimeoutError:
            raise TransientMailError(
                f"SMTP server {where} timed out after {self.timeout:g}s"
            ) from None
        except smtplib.SMTPServerDisconnected as exc:
            if isinstance(exc.__context__, TimeoutError):
                raise TransientMailError(
                    f"SMTP server {where} timed out after {self.timeout:g}s"
                ) from None
            raise TransientMailError(f"SMTP server {where} closed the connection") from None
        except smtplib.SMTPException as exc:
            raise MailError(f"SMTP with {where} failed: {type(exc).__name__}") from None
        except OSError as exc:  # refused, unreachable, name lookup: the network may come back
            reason = exc.strerror or type(exc).__name__
            raise TransientMailError(f"cannot reach SMTP server {where}: {reason}") from None
        logger.info("mail sent tag=%s via %s", message.tag or "-", where)

    def ping(self, *, timeout: float = 2.0) -> bool:
        """True when the server answers a greeting and ``NOOP`` (for readiness probes).

        Sends no credentials and no mail; TLS is not negotiated (a greeting is enough to
        know the server is up).
        """
        saved, self.timeout = self.timeout, min(timeout, self.timeout)
        try:
            with self._connect() as smtp:
                code, _ = smtp.noop()
                return 200 <= code < 300
        except (smtplib.SMTPException, ssl.SSLError, OSError):
            return False
        finally:
            self.timeout = saved

    def _connect(self) -> smtplib.SMTP:
        if self.security == "tls":
            return smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=self._context()
            )
        return smtplib.SMTP(self.host, self.port, timeout=self.timeout)

    def _context(self) -> ssl.SSLContext:
        if self._ssl_context is None:
            self._ssl_context = _tls_context(verify=True, cafile=None)
        return self._ssl_context


def _tls_context(*, verify: bool, cafile: str | None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=cafile)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _recipient(to: str) -> str:
    """The bare address of a ``To`` value, refusing anything that is not one address.

    Internationalised addresses pass; ``send_message`` then asks for SMTPUTF8.
    """
    address = parseaddr(to)[1]
    local, at, domain = address.rpartition("@")
    if not (at and local and domain) or any(ch.isspace() for ch in address):
        raise MailError("the recipient is not a valid email address")
    return address


def _feature(exc: smtplib.SMTPNotSupportedError) -> str:
    text = str(exc)
    for feature in ("STARTTLS", "SMTPUTF8", "AUTH"):
        if feature in text:
            return feature
    return "a command it was sent"


def _transient(code: int) -> bool:
    """A 4xx reply: the server asks to try again later (RFC 5321 §4.2.1)."""
    return 400 <= code < 500


def _by_reply(transient: bool) -> type[MailError]:
    return TransientMailError if transient else MailError
