"""SMTPMailer configuration: URLs, their errors, and safe defaults. No network."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from tests.mail.conftest import failure_text
from twostep.errors import ConfigurationError
from twostep.mail import InvalidMailURL, SMTPMailer

SENDER = "twostep <no-reply@auth.example.com>"


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
    assert "topsecret" not in failure_text(caught.value)


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


def test_repr_hides_the_password() -> None:
    mailer = SMTPMailer.from_url(
        "smtp+starttls://bob:hunter2@mail.example.com", from_address=SENDER
    )
    assert "hunter2" not in repr(mailer)
    assert "bob" in repr(mailer)


def test_credentials_are_never_sent_in_the_clear_to_a_remote_host() -> None:
    with pytest.raises(InvalidMailURL, match="in the clear") as caught:
        SMTPMailer.from_url("smtp://bob:hunter2@mail.example.com", from_address=SENDER)
    assert "hunter2" not in failure_text(caught.value)


def test_missing_cafile_is_a_url_error(tmp_path: Path) -> None:
    with pytest.raises(InvalidMailURL, match="cafile"):
        SMTPMailer.from_url(
            f"smtps://mail.example.com?cafile={tmp_path / 'missing.pem'}", from_address=SENDER
        )


def test_explicit_context_is_used_as_given() -> None:
    context = ssl.create_default_context()
    mailer = SMTPMailer.from_url(
        "smtps://mail.example.com?verify=false", from_address=SENDER, ssl_context=context
    )
    assert mailer._context() is context
    assert context.verify_mode == ssl.CERT_REQUIRED
