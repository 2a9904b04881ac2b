"""Settings: every rule about what a configuration may be, checked as it is built.

Production refuses development-only conveniences (DESIGN §4.14); each refusal names the
variable to change. The rules themselves live in ``twostep.settings_rules``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import SecretStr

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


def test_production_sends_the_sign_on_cookie_over_https_only(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="^TWOSTEP_COOKIE_SECURE: production"):
        production(tmp_path, cookie_secure=False, cookie_domain="example.test")
    assert not Settings(data_dir=tmp_path, cookie_secure=False).cookie_secure  # development


def test_the_cookie_domain_must_contain_twostep(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"must contain the host .*\(auth\.other\.test\)"):
        Settings(
            data_dir=tmp_path, public_url="https://auth.other.test", cookie_domain="example.test"
        )
    for domain in ("auth.other.test", "other.test"):
        Settings(data_dir=tmp_path, public_url="https://auth.other.test", cookie_domain=domain)
    with pytest.raises(ConfigurationError, match="TWOSTEP_COOKIE_DOMAIN"):
        Settings(data_dir=tmp_path, public_url="https://auth.other.test", cookie_domain="er.test")


# One bad value per setting; every setting is either here or known to take any text.
BAD_VALUES: dict[str, str] = {
    "env": "staging",
    "database_url": "mysql://db.example.test/twostep",
    "public_url": "auth.example.test",
    "port": "80800",
    "workers": "0",
    "mail_from": "no address here",
    "issuer": "   ",
    "token_algorithm": "RS256",
    "token_secret": "short",  # with TWOSTEP_TOKEN_ALGORITHM=HS256
    "access_token_minutes": "0",
    "mfa": "always",
    "enroll_at_registration": "perhaps",
    "otp_provider": "email",
    "host": "0.0.0.0",  # noqa: S104 - refused in development
    "allow_remote_dev": "perhaps",
    "smtp_url": "http://u:topsecret@mail.example.test",
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
    "request_threads": "0",
    "login_rate_per_minute": "0",
    "account_rate_per_minute": "none",
    "metrics_token": "short",
    "audit_days": "0",
    "cookie_domain": "https://example.com",
    "cookie_secure": "perhaps",
    "webauthn_rp_id": "other.example.test",  # not PUBLIC_URL's host nor a parent of it
    "remember_days": "400",
}
ANY_TEXT = {
    "data_dir", "keyring", "token_audience", "introspection_client_id",
    "introspection_client_secret", "access_rules",
}  # fmt: skip
SECRETS = {"token_secret": "short", "metrics_token": "short", "smtp_url": "topsecret"}


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
        assert SECRETS[field] not in lines[0].split("(e.g.")[0]


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


def test_production_requires_a_keyring(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as raised:
        production(tmp_path, keyring=None)
    assert raised.value.message.startswith("TWOSTEP_KEYRING: is required in production")
    assert "twostep keys generate" in raised.value.message
    assert production(tmp_path, keyring='{"inline": "json"}').keyring  # read when built on
    assert Settings(data_dir=tmp_path).keyring is None  # development generates one


def test_production_requires_an_smtp_server(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as raised:
        production(tmp_path, smtp_url=None)
    assert raised.value.message.startswith("TWOSTEP_SMTP_URL: is required in production")
    assert Settings(data_dir=tmp_path).smtp_url is None  # development writes to the outbox


def test_every_production_problem_is_a_line_of_its_own(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as raised:
        Settings(env="production", data_dir=tmp_path, otp_provider="dev")
    named = [line.split(":")[0] for line in raised.value.message.splitlines()]
    assert named == [
        "TWOSTEP_OTP_PROVIDER",
        "TWOSTEP_PUBLIC_URL",
        "TWOSTEP_KEYRING",
        "TWOSTEP_SMTP_URL",
    ]


@pytest.mark.parametrize(
    "url",
    [
        "smtp://127.0.0.1:2525",
        "smtp://u:p@localhost:1025",
        "smtp+starttls://no-reply%40example.com:pw@mail.example.test:587",
        "smtps://mail.example.test?cafile=/etc/ssl/private-ca.pem",  # loaded when built on
    ],
)
def test_a_usable_smtp_url_passes(tmp_path: Path, url: str) -> None:
    assert production(tmp_path, smtp_url=SecretStr(url)).smtp_url is not None


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://u:topsecret@mail.example.test", "unsupported SMTP URL scheme"),
        ("smtp://u:topsecret@mail.example.test", "in the clear"),
        ("smtp+starttls://u:topsecret@mail.example.test:99999", "malformed"),
        ("smtp+starttls://u:topsecret@mail.example.test?pool=3", "unknown SMTP URL parameter"),
        ("smtp+starttls://u@mail.example.test", "both a user name and a password"),
        ("smtps://u:p%C3%A9topsecret@mail.example.test", "ASCII"),
    ],
)
def test_a_bad_smtp_url_names_the_variable_never_the_password(
    tmp_path: Path, url: str, problem: str
) -> None:
    with pytest.raises(ConfigurationError) as raised:
        Settings(data_dir=tmp_path, smtp_url=SecretStr(url))
    message = raised.value.message
    assert message.startswith("TWOSTEP_SMTP_URL: ") and problem in message
    assert "topsecret" not in message


@pytest.mark.parametrize(
    "spec", ["totp", " totp ", "dev", "mybank.otp:BankTOTP", "mybank.otp.BankTOTP", "a.b:C.d"]
)
def test_an_otp_provider_is_builtin_or_a_dotted_path(tmp_path: Path, spec: str) -> None:
    assert Settings(data_dir=tmp_path, otp_provider=spec).otp_provider == spec


@pytest.mark.parametrize("spec", ["email", "TOTP", "nope", "mybank.otp:", ":Factory", "a b:c"])
def test_an_unknown_otp_provider_is_refused_by_name(
    clean_env: pytest.MonkeyPatch, spec: str
) -> None:
    clean_env.setenv("TWOSTEP_OTP_PROVIDER", spec)
    with pytest.raises(ConfigurationError, match=r"^TWOSTEP_OTP_PROVIDER: "):
        load_settings()


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.10", "auth.example.test"])  # noqa: S104
def test_development_binds_loopback_unless_allowed_beyond(tmp_path: Path, host: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        Settings(data_dir=tmp_path, host=host)
    message = raised.value.message
    assert message.startswith("TWOSTEP_HOST: development serves its mailbox")
    assert "TWOSTEP_ALLOW_REMOTE_DEV=true" in message and "--allow-remote-dev" in message
    assert Settings(data_dir=tmp_path, host=host, allow_remote_dev=True).host == host
    assert production(tmp_path, host=host).host == host


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"])
def test_development_binds_any_loopback_address(tmp_path: Path, host: str) -> None:
    assert Settings(data_dir=tmp_path, host=host).host == host


def test_remote_development_is_allowed_from_the_environment(
    clean_env: pytest.MonkeyPatch,
) -> None:
    clean_env.setenv("TWOSTEP_HOST", "0.0.0.0")  # noqa: S104
    clean_env.setenv("TWOSTEP_ALLOW_REMOTE_DEV", "true")
    settings = load_settings()
    assert settings.allow_remote_dev and settings.public_url == "http://127.0.0.1:8000"


def test_hs256_needs_a_long_shared_secret(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="^TWOSTEP_TOKEN_SECRET: HS256"):
        Settings(data_dir=tmp_path, token_algorithm="HS256")
    secret = SecretStr("s" * 32)
    assert Settings(data_dir=tmp_path, token_algorithm="HS256", token_secret=secret).token_secret


def test_a_metrics_token_is_long_or_unset(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="^TWOSTEP_METRICS_TOKEN: must be 16"):
        Settings(data_dir=tmp_path, metrics_token=SecretStr("s" * 15))
    assert Settings(data_dir=tmp_path, metrics_token=SecretStr("s" * 16)).metrics_token
    assert Settings(data_dir=tmp_path).metrics_token is None


def test_request_threads_default_to_the_database(tmp_path: Path) -> None:
    assert Settings(data_dir=tmp_path).threads == 4  # SQLite: one writer at a time
    postgres = "postgresql://twostep@db.example.test/twostep"
    assert Settings(data_dir=tmp_path, database_url=postgres).threads == 16
    assert Settings(data_dir=tmp_path, database_url=postgres, request_threads=8).threads == 8


@pytest.mark.parametrize(
    ("cores", "workers", "slots"), [(2, 1, 2), (2, 2, 1), (8, 3, 2), (1, 4, 1)]
)
def test_each_worker_hashes_its_share_of_the_cores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cores: int, workers: int, slots: int
) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: set(range(cores)))
    assert Settings(data_dir=tmp_path, workers=workers).hash_slots == slots
