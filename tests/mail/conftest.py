"""A real SMTP server (aiosmtpd on 127.0.0.1) and a throwaway certificate authority.

The server runs in its own thread; a message is recorded by the DATA handler before the
server answers 250, so once ``send`` returns the message is already in ``received``.
"""

from __future__ import annotations

import email
import email.policy
import ipaddress
import socket
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

USER = "mailer@example.com"
PASSWORD = "p@ss:w/rd%20#?&="


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Received:
    """One message as the server got it."""

    mail_from: str
    rcpt_tos: list[str]
    content: bytes
    login: str | None

    def parsed(self) -> EmailMessage:
        message = email.message_from_bytes(self.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        return message


@dataclass
class Collector:
    """aiosmtpd handler: records messages, can demand AUTH and refuse recipients.

    ``defer`` recipients get 450 (try again later) at RCPT, always; the first ``tempfail``
    messages get 451 at DATA, as a greylisting or overloaded server answers.
    """

    require_auth: bool = False
    refuse: frozenset[str] = frozenset()
    defer: frozenset[str] = frozenset()
    tempfail: int = 0
    received: list[Received] = field(default_factory=list)
    data_replies: list[str] = field(default_factory=list)

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if self.require_auth and not session.authenticated:
            return "530 5.7.0 Authentication required"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if address in self.refuse:
            return "550 5.1.1 No such user here"
        if address in self.defer:
            return "450 4.2.0 Mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.tempfail > 0:
            self.tempfail -= 1
            self.data_replies.append("451")
            return "451 4.3.0 Try again later"
        self.data_replies.append("250")
        login = session.auth_data if isinstance(session.auth_data, str) else None
        content = envelope.original_content or b""
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), content, login))
        return "250 Message accepted"


def body(message: EmailMessage, subtype: str) -> str:
    """The decoded ``text/<subtype>`` part, with the wire's CRLF line ends read as LF."""
    part = message.get_body((subtype,))
    assert part is not None, f"no text/{subtype} part"
    content = part.get_content()
    assert isinstance(content, str)
    return content.replace("\r\n", "\n")


def failure_text(exc: BaseException) -> str:
    """What a log line or traceback would show of the error and the errors it chains."""
    shown: list[str] = []
    current: BaseException | None = exc
    while current is not None:
        shown += [repr(current), str(current), *map(str, current.args)]
        if current.__cause__ is not None:
            current = current.__cause__
        elif not current.__suppress_context__:
            current = current.__context__
        else:
            current = None
    return "\n".join(shown)


def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> Any:
    """Accept exactly USER / PASSWORD, over PLAIN or LOGIN."""
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == USER.encode()
        and auth_data.password == PASSWORD.encode()
    )
    return AuthResult(success=ok, handled=False, auth_data=USER if ok else None)


@dataclass
class Server:
    """A running SMTP server and what it received."""

    host: str
    port: int
    handler: Collector

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    def last(self) -> EmailMessage:
        assert self.received, "the server received nothing"
        return self.received[-1].parsed()


ServerFactory = Callable[..., Server]


@pytest.fixture
def smtp_server() -> Iterator[ServerFactory]:
    """Start servers on demand: ``smtp_server(auth=True, tls_context=..., refuse=...)``,
    ``smtp_server(tempfail=2)`` (451 twice, then accept), ``smtp_server(defer=...)``."""
    controllers: list[Controller] = []

    def start(
        *,
        auth: bool = False,
        refuse: frozenset[str] = frozenset(),
        defer: frozenset[str] = frozenset(),
        tempfail: int = 0,
        **options: Any,
    ) -> Server:
        handler = Collector(require_auth=auth, refuse=refuse, defer=defer, tempfail=tempfail)
        port = free_port()
        if auth:
            options.setdefault("auth_require_tls", False)
            options["authenticator"] = authenticator
        controller = Controller(handler, hostname="127.0.0.1", port=port, **options)
        controller.start()
        controllers.append(controller)
        return Server("127.0.0.1", port, handler)

    yield start
    for controller in controllers:
        controller.stop()


@pytest.fixture
def server(smtp_server: ServerFactory) -> Server:
    """A plain SMTP server without authentication."""
    return smtp_server()


@dataclass(frozen=True)
class Authority:
    """A private CA and one server certificate it signed for 127.0.0.1 / localhost."""

    ca_file: Path
    cert_file: Path
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca_file))


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


@pytest.fixture(scope="session")
def authority(tmp_path_factory: pytest.TempPathFactory) -> Authority:
    """Made once per run with ``cryptography``; nothing is read from the machine."""
    directory = tmp_path_factory.mktemp("tls")
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("twostep test CA"))
        .issuer_name(_name("twostep test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost"))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    authority = Authority(directory / "ca.pem", directory / "server.pem", directory / "key.pem")
    authority.ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    authority.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    authority.key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return authority
