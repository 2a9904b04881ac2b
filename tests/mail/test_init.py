"""build_mailer: the mailer a deployment gets from its settings.

Settings already refused a malformed SMTP URL and production without one
(``tests/test_config.py``); what is left to fail here needs the file system.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from twostep.clock import ManualClock
from twostep.config import Settings
from twostep.errors import ConfigurationError
from twostep.mail import (
    InvalidMailURL,
    Message,
    MessageFactory,
    Outbox,
    SMTPMailer,
    build_mailer,
    message_factory,
)


def _settings(tmp_path: Path, **values: object) -> Settings:
    return Settings(data_dir=tmp_path, **values)  # type: ignore[arg-type]


def test_development_without_smtp_uses_the_outbox(tmp_path: Path) -> None:
    clock = ManualClock()
    mailer = build_mailer(_settings(tmp_path, env="development", smtp_url=None), clock)

    assert isinstance(mailer, Outbox)
    assert mailer.directory == tmp_path / "outbox"
    mailer.send(Message(to="a@example.com", subject="s", text="t"))
    assert mailer.list()[0].sent_at == clock.now()


@pytest.mark.parametrize("env", ["development", "production"])
def test_smtp_url_wins_in_any_environment(tmp_path: Path, env: str) -> None:
    settings = _settings(
        tmp_path,
        env=env,
        public_url="https://auth.example.com",
        keyring=str(tmp_path / "keyring.json"),
        smtp_url=SecretStr("smtps://u:pw@mail.example.com"),
        mail_from="Acme <no-reply@example.com>",
    )
    mailer = build_mailer(settings, ManualClock())

    assert isinstance(mailer, SMTPMailer)
    assert (mailer.host, mailer.port, mailer.security) == ("mail.example.com", 465, "tls")
    assert mailer.from_address == "Acme <no-reply@example.com>"


def test_a_cafile_that_cannot_be_loaded_is_a_configuration_error(tmp_path: Path) -> None:
    missing = tmp_path / "missing-ca.pem"
    url = f"smtps://u:topsecret@mail.example.com?cafile={missing}"
    settings = _settings(tmp_path, smtp_url=SecretStr(url))  # the URL itself is fine
    with pytest.raises(InvalidMailURL, match="cafile") as caught:
        build_mailer(settings, ManualClock())
    assert isinstance(caught.value, ConfigurationError)
    assert "topsecret" not in str(caught.value)


def test_message_factory_from_settings(tmp_path: Path) -> None:
    factory = message_factory(
        _settings(tmp_path, issuer="Acme", public_url="https://auth.example.com")
    )
    assert isinstance(factory, MessageFactory)
    assert (factory.issuer, factory.public_url) == ("Acme", "https://auth.example.com")
