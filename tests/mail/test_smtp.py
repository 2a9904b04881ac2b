"""SMTPMailer against a real SMTP server: headers, parts, auth, TLS and every failure."""

from __future__ import annotations

import socket
import ssl
import time
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import quote

import pytest

from tests.mail.conftest import (
    PASSWORD,
    USER,
    Authority,
    Server,
    ServerFactory,
    body,
    free_port,
)
from twostep.clock import ManualClock
from twostep.errors import ConfigurationError, MailError
from twostep.mail import InvalidMailURL, Message, SMTPMailer

SENDER = "twostep <no-reply@auth.example.com>"
NOW = datetime(2024, 3, 1, 12, 30, tzinfo=UTC)


def _message(**overrides: str) -> Message:
    fields = {
        "to": "alice@example.com",
        "subject": "Your sign-in code",
        "text": "Use 493817 to sign in.\n",
        "html": "<p>Use <b>493817</b> to sign in.</p>\n",
        "tag": "email_sign_in_code",
    }
    fields.update(overrides)
    return Message(**fields)


def _mailer(server: Server, **options: object) -> SMTPMailer:
    return SMTPMailer(
        server.host,
        server.port,
        from_address=SENDER,
        clock=ManualClock(NOW),
        **options,  # type: ignore[arg-type]
    )


def _failure_text(exc: BaseException) -> str:
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


# --- a message on the wire --------------------------------------------------------------


def test_sends_multipart_alternative_with_headers(server: Server) -> None:
    _mailer(server).send(_message())

    (received,) = server.received
    assert received.mail_from == "no-reply@auth.example.com"
    assert received.rcpt_tos == ["alice@example.com"]
    parsed = received.parsed()
    assert parsed["From"] == SENDER
    assert parsed["To"] == "alice@example.com"
    assert parsed["Subject"] == "Your sign-in code"
    assert parsedate_to_datetime(parsed["Date"]) == NOW
    assert parsed["Message-ID"].endswith("@auth.example.com>")
    assert parsed["Auto-Submitted"] == "auto-generated"
    assert parsed["X-Twostep-Tag"] == "email_sign_in_code"
    assert parsed.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in parsed.iter_parts()] == ["text/plain", "text/html"]
    assert body(parsed, "plain") == "Use 493817 to sign in.\n"
    assert body(parsed, "html") == "<p>Use <b>493817</b> to sign in.</p>\n"


def test_text_only_message_is_a_single_part(server: Server) -> None:
    _mailer(server).send(_message(html=None))  # type: ignore[arg-type]

    parsed = server.last()
    assert parsed.get_content_type() == "text/plain"
    assert body(parsed, "plain") == "Use 493817 to sign in.\n"


def test_every_message_gets_its_own_message_id(server: Server) -> None:
    mailer = _mailer(server)
    mailer.send(_message())
    mailer.send(_message())

    ids = {r.parsed()["Message-ID"] for r in server.received}
    assert len(ids) == 2


def test_unicode_and_long_lines_survive(server: Server) -> None:
    text = "Grüße, Zoë! " * 200 + "\n.a line that starts with a dot\n"
    _mailer(server).send(_message(subject="Sécurité du compte — 🔐", text=text))

    parsed = server.last()
    assert parsed["Subject"] == "Sécurité du compte — 🔐"
    assert body(parsed, "plain") == text
    assert all(len(line) <= 998 for line in server.received[-1].content.split(b"\r\n"))


def test_from_url_delivers_to_the_url_host(server: Server) -> None:
    mailer = SMTPMailer.from_url(f"smtp://{server.host}:{server.port}", from_address=SENDER)
    mailer.send(_message())

    assert server.last()["To"] == "alice@example.com"


# --- authentication ---------------------------------------------------------------------


def test_logs_in_with_percent_decoded_credentials(smtp_server: ServerFactory) -> None:
    server = smtp_server(auth=True)
    url = f"smtp://{quote(USER, safe='')}:{quote(PASSWORD, safe='')}@{server.host}:{server.port}"
    SMTPMailer.from_url(url, from_address=SENDER).send(_message())

    (received,) = server.received
    assert received.login == USER


def test_server_requiring_auth_refuses_a_mailer_without_it(smtp_server: ServerFactory) -> None:
    server = smtp_server(auth=True)
    with pytest.raises(MailError, match="refused the sender"):
        _mailer(server).send(_message())
    assert server.received == []


def test_wrong_password_is_a_mail_error_without_credentials(smtp_server: ServerFactory) -> None:
    server = smtp_server(auth=True)
    mailer = _mailer(server, username=USER, password="not-the-password-42")

    with pytest.raises(MailError, match="refused the credentials") as caught:
        mailer.send(_message())

    shown = _failure_text(caught.value)
    assert "not-the-password-42" not in shown
    assert USER not in shown
    assert server.received == []


def test_repr_hides_the_password() -> None:
    mailer = SMTPMailer.from_url(
        "smtp+starttls://bob:hunter2@mail.example.com", from_address=SENDER
    )
    assert "hunter2" not in repr(mailer)
    assert "bob" in repr(mailer)


def test_credentials_are_never_sent_in_the_clear_to_a_remote_host() -> None:
    with pytest.raises(InvalidMailURL, match="in the clear") as caught:
        SMTPMailer.from_url("smtp://bob:hunter2@mail.example.com", from_address=SENDER)
    assert "hunter2" not in _failure_text(caught.value)


# --- TLS --------------------------------------------------------------------------------


def test_starttls_with_a_trusted_private_ca(
    smtp_server: ServerFactory, authority: Authority
) -> None:
    server = smtp_server(
        auth=True,
        auth_require_tls=True,
        tls_context=authority.server_context(),
        require_starttls=True,
    )
    url = (
        f"smtp+starttls://{quote(USER, safe='')}:{quote(PASSWORD, safe='')}"
        f"@{server.host}:{server.port}?cafile={authority.ca_file}"
    )
    SMTPMailer.from_url(url, from_address=SENDER).send(_message())

    (received,) = server.received
    assert received.login == USER
    assert received.parsed()["Subject"] == "Your sign-in code"


def test_starttls_refuses_an_untrusted_certificate(
    smtp_server: ServerFactory, authority: Authority
) -> None:
    server = smtp_server(tls_context=authority.server_context(), require_starttls=True)
    mailer = SMTPMailer.from_url(
        f"smtp://{server.host}:{server.port}?starttls=true", from_address=SENDER
    )

    with pytest.raises(MailError, match="failed verification"):
        mailer.send(_message())
    assert server.received == []


def test_verify_false_accepts_a_self_signed_development_server(
    smtp_server: ServerFactory, authority: Authority
) -> None:
    server = smtp_server(tls_context=authority.server_context(), require_starttls=True)
    url = f"smtp+starttls://{server.host}:{server.port}?verify=false"
    SMTPMailer.from_url(url, from_address=SENDER).send(_message())

    assert len(server.received) == 1


def test_starttls_is_required_not_optional(server: Server) -> None:
    mailer = _mailer(server, security="starttls")

    with pytest.raises(MailError, match="does not support STARTTLS"):
        mailer.send(_message())
    assert server.received == []


def test_plain_mailer_is_refused_by_a_server_that_requires_starttls(
    smtp_server: ServerFactory, authority: Authority
) -> None:
    server = smtp_server(tls_context=authority.server_context(), require_starttls=True)

    with pytest.raises(MailError, match="530"):
        _mailer(server).send(_message())


def test_implicit_tls(smtp_server: ServerFactory, authority: Authority) -> None:
    server = smtp_server(ssl_context=authority.server_context())
    mailer = _mailer(server, security="tls", ssl_context=authority.client_context())
    mailer.send(_message())

    assert server.last()["To"] == "alice@example.com"


def test_implicit_tls_verifies_by_default(smtp_server: ServerFactory, authority: Authority) -> None:
    server = smtp_server(ssl_context=authority.server_context())
    mailer = SMTPMailer.from_url(f"smtps://{server.host}:{server.port}", from_address=SENDER)

    with pytest.raises(MailError, match="failed verification"):
        mailer.send(_message())


# --- failures ---------------------------------------------------------------------------


def test_refused_recipient(smtp_server: ServerFactory) -> None:
    server = smtp_server(refuse=frozenset({"ghost@example.com"}))

    with pytest.raises(MailError, match=r"refused the recipient \(550\)"):
        _mailer(server).send(_message(to="ghost@example.com"))
    assert server.received == []


def test_connection_refused_is_quick_and_shows_no_credentials() -> None:
    port = free_port()
    mailer = SMTPMailer.from_url(
        f"smtp+starttls://alice:hunter2-pass@127.0.0.1:{port}", from_address=SENDER, timeout=2
    )
    started = time.monotonic()

    with pytest.raises(MailError, match=f"127.0.0.1:{port}") as caught:
        mailer.send(_message())

    assert time.monotonic() - started < 2
    shown = _failure_text(caught.value)
    assert "hunter2-pass" not in shown
    assert "alice" not in shown


def test_silent_server_times_out() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]
        mailer = SMTPMailer("127.0.0.1", port, from_address=SENDER, timeout=0.3)
        started = time.monotonic()

        with pytest.raises(MailError, match=r"timed out after 0.3s"):
            mailer.send(_message())

        assert time.monotonic() - started < 3


def test_a_recipient_that_is_not_an_address_is_refused_before_connecting() -> None:
    mailer = SMTPMailer("127.0.0.1", free_port(), from_address=SENDER)
    with pytest.raises(MailError, match="not a valid email address"):
        mailer.send(_message(to="not an address"))


# --- configuration ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "host", "port", "security", "username"),
    [
        ("smtp://mail.example.com", "mail.example.com", 25, "none", None),
        ("smtp://127.0.0.1:2525", "127.0.0.1", 2525, "none", None),
        ("smtp://u:p@localhost:1025", "localhost", 1025, "none", "u"),
        ("smtp://mail.example.com?starttls=true", "mail.example.com", 25, "starttls", None),
        ("smtp://mail.example.com?starttls=false", "mail.example.com", 25, "none", None),
        (
            "smtp+starttls://a%40b.c:x@mail.example.com",
            "mail.example.com",
            587,
            "starttls",
            "a@b.c",
        ),
        ("SMTPS://u:p@Mail.Example.com:4650", "mail.example.com", 4650, "tls", "u"),
        ("smtps://[::1]", "::1", 465, "tls", None),
    ],
)
def test_from_url(url: str, host: str, port: int, security: str, username: str | None) -> None:
    mailer = SMTPMailer.from_url(url, from_address=SENDER)
    assert (mailer.host, mailer.port, mailer.security, mailer.username) == (
        host,
        port,
        security,
        username,
    )
    assert mailer.timeout == 10


@pytest.mark.parametrize(
    "url",
    [
        "http://u:topsecret@mail.example.com",
        "smtp://",
        "smtp://u:topsecret@mail.example.com:99999",
        "smtp://u:topsecret@mail.example.com:port",
        "smtp+starttls://u:topsecret@mail.example.com/path",
        "smtp+starttls://u:topsecret@mail.example.com?starttls=maybe",
        "smtp+starttls://u:topsecret@mail.example.com?starttls=false",
        "smtps://u:topsecret@mail.example.com?starttls=true",
        "smtp+starttls://u:topsecret@mail.example.com?pool=3",
        "smtp://localhost?verify=false",
        "smtp+starttls://u@mail.example.com",
        "smtp+starttls://:topsecret@mail.example.com",
    ],
)
def test_malformed_urls_are_refused_without_echoing_them(url: str) -> None:
    with pytest.raises(InvalidMailURL) as caught:
        SMTPMailer.from_url(url, from_address=SENDER)

    assert isinstance(caught.value, ValueError)
    assert isinstance(caught.value, ConfigurationError)
    assert "topsecret" not in _failure_text(caught.value)


def test_timeout_and_sender_are_checked() -> None:
    with pytest.raises(ValueError, match="timeout"):
        SMTPMailer("localhost", 25, from_address=SENDER, timeout=0)
    with pytest.raises(ValueError, match="from address"):
        SMTPMailer("localhost", 25, from_address="twostep")


def test_default_context_verifies_certificates_and_hostnames() -> None:
    mailer = SMTPMailer.from_url("smtps://mail.example.com", from_address=SENDER)
    context = mailer._context()
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname


def test_non_ascii_credentials_are_refused_up_front() -> None:
    with pytest.raises(InvalidMailURL, match="ASCII"):
        SMTPMailer.from_url("smtps://u:p%C3%A9@mail.example.com", from_address=SENDER)
