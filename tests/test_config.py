"""Settings: production refuses development-only conveniences (DESIGN §4.14)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from twostep.config import Settings
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
