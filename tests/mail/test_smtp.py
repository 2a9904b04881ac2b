"""SMTPMailer against a real SMTP server: headers, parts, auth, TLS and every failure."""

from __future__ import annotations

import socket
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
    failure_text,
    free_port,
)
from twostep.clock import ManualClock
from twostep.errors import MailError
from twostep.mail import Message, SMTPMailer

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

    shown = failure_text(caught.value)
    assert "not-the-password-42" not in shown
    assert USER not in shown
    assert server.received == []


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
    shown = failure_text(caught.value)
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
