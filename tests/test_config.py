"""Settings: production refuses development-only conveniences (DESIGN §4.14)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import SecretStr
from scripts.settings_table import README, render

from twostep.config import Settings, env_name, load_settings
from twostep.errors import ConfigurationError


def production(tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "env": "production",
        "data_dir": tmp_path,
        "public_url": "https://auth.example.test",
        "keyring": str(tmp_path / "keyring.json"),
        "smtp_url": SecretStr("smtp+starttls://mail.example.test"),
        **overrides,
    }
    return Settings(**values)  # type: ignore[arg-type]


def test_production_accepts_the_totp_provider(tmp_path: Path) -> None:
    assert production(tmp_path).otp_provider == "totp"


def test_production_refuses_the_development_provider(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="dev OTP provider"):
        production(tmp_path, otp_provider="dev")
    assert Settings(data_dir=tmp_path, otp_provider="dev").otp_provider == "dev"


def test_production_refuses_a_plain_http_public_url(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="https"):
        production(tmp_path, public_url="http://auth.example.test")


# One bad value per setting; every setting is either here or known to take any text.
BAD_VALUES: dict[str, str] = {
    "env": "staging",
    "database_url": "mysql://db.example.test/twostep",
    "public_url": "auth.example.test",
    "port": "80800",
    "mail_from": "no address here",
    "issuer": "   ",
    "token_algorithm": "RS256",
    "token_secret": "short",  # with TWOSTEP_TOKEN_ALGORITHM=HS256
    "access_token_minutes": "0",
    "mfa": "always",
    "enroll_at_registration": "perhaps",
    "otp_provider": "email",
    "totp_window": "-1",
    "lockout_threshold": "1000",
    "lockout_minutes": "0",
    "elevation_minutes": "forever",
    "challenge_seconds": "5",
    "challenge_attempts": "50",
    "session_days": "1000",
    "password_lockout_threshold": "2",
    "password_lockout_minutes": "0",
    "email_code_cooldown_seconds": "-5",
    "reset_token_minutes": "1",
    "trusted_proxies": "127.0.0.1,nope",
    "redis_url": "localhost:6379",
    "max_body_bytes": "10",
    "login_rate_per_minute": "0",
    "account_rate_per_minute": "none",
    "metrics_token": "short",
    "audit_days": "0",
}
ANY_TEXT = {
    "data_dir", "host", "smtp_url", "keyring", "token_audience", "introspection_client_id",
    "introspection_client_secret",
}  # fmt: skip
SECRETS = {"token_secret", "metrics_token"}


def test_every_setting_has_a_bad_value_or_takes_any_text() -> None:
    assert set(BAD_VALUES) | ANY_TEXT == set(Settings.model_fields)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    for name in list(os.environ):
        if name.startswith("TWOSTEP_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("TWOSTEP_DATA_DIR", str(tmp_path))
    return monkeypatch


@pytest.mark.parametrize("field", sorted(BAD_VALUES))
def test_a_bad_setting_is_one_line_naming_it_with_an_example(
    clean_env: pytest.MonkeyPatch, field: str
) -> None:
    variable = env_name(field)
    clean_env.setenv(variable, BAD_VALUES[field])
    if field == "token_secret":
        clean_env.setenv("TWOSTEP_TOKEN_ALGORITHM", "HS256")
    with pytest.raises(ConfigurationError) as raised:
        load_settings()
    lines = raised.value.message.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"{variable}: ")
    assert f"(e.g. {variable}=" in lines[0]
    if field in SECRETS:
        assert BAD_VALUES[field] not in lines[0].split("(e.g.")[0]


def test_two_bad_settings_are_two_lines(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("TWOSTEP_PORT", "x")
    clean_env.setenv("TWOSTEP_MFA", "x")
    with pytest.raises(ConfigurationError) as raised:
        load_settings()
    assert sorted(line.split(":")[0] for line in raised.value.message.splitlines()) == [
        "TWOSTEP_MFA",
        "TWOSTEP_PORT",
    ]


@pytest.mark.parametrize("field", sorted(Settings.model_fields))
def test_an_empty_setting_means_unset(clean_env: pytest.MonkeyPatch, field: str) -> None:
    if field == "data_dir":
        clean_env.delenv("TWOSTEP_DATA_DIR")
    clean_env.setenv(env_name(field), "")
    settings = load_settings()
    default = Settings.model_fields[field].get_default(call_default_factory=True)
    if field != "public_url":
        assert getattr(settings, field) == default


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("127.0.0.1", ["127.0.0.1"]),
        ("127.0.0.1,10.0.0.0/8", ["127.0.0.1", "10.0.0.0/8"]),
        (" 127.0.0.1 , ::1 ,", ["127.0.0.1", "::1"]),
        ('["127.0.0.1", "10.0.0.0/8"]', ["127.0.0.1", "10.0.0.0/8"]),
        ("", []),
    ],
)
def test_trusted_proxies_take_commas_or_json(
    clean_env: pytest.MonkeyPatch, value: str, expected: list[str]
) -> None:
    clean_env.setenv("TWOSTEP_TRUSTED_PROXIES", value)
    assert load_settings().trusted_proxies == expected


def test_development_links_follow_the_served_host_and_port(tmp_path: Path) -> None:
    assert Settings(data_dir=tmp_path).public_url == "http://127.0.0.1:8000"
    assert Settings(data_dir=tmp_path, port=8001).public_url == "http://127.0.0.1:8001"
    assert Settings(data_dir=tmp_path, host="::1", port=8002).public_url == "http://[::1]:8002"
    chosen = Settings(data_dir=tmp_path, port=8001, public_url="http://localhost:9000")
    assert chosen.public_url == "http://localhost:9000"


def test_production_requires_a_public_url(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="TWOSTEP_PUBLIC_URL: is required"):
        production(tmp_path, public_url="")


def test_the_readme_configuration_table_is_the_settings() -> None:
    """Fails when a setting is added, removed or re-described without ``make readme``."""
    readme = README.read_text(encoding="utf-8")
    assert render(readme) == readme, "run 'make readme' to regenerate the table"
    for name in Settings.model_fields:
        assert f"| `{env_name(name)}` |" in readme
