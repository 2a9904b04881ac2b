"""The access log keeps tokens out; the body limit holds without a Content-Length."""

from __future__ import annotations

import logging
import re
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from tests.web.conftest import Api
from twostep.config import Settings
from twostep.mail import MemoryMailer
from twostep.security import Keyring
from twostep.services.context import build_context
from twostep.web.app import create_app


def test_access_log_leaves_the_query_string_out(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    secret = "tok_Sup3rS3cretValue"
    with caplog.at_level(logging.INFO, logger="twostep.access"):
        api.client.get(f"/no/such/page?token={secret}")
        api.post("/auth/password/reset/check", json={"token": secret})
    lines = [r.getMessage() for r in caplog.records if r.name == "twostep.access"]
    assert any('"GET /no/such/page" 404' in line for line in lines)
    assert any("/auth/password/reset/check" in line for line in lines)
    assert all(secret not in line for line in caplog.text.splitlines())


def test_a_streamed_body_over_the_limit_is_refused(api: Api) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(100):
            yield b"x" * 1024

    response = api.client.post(
        "/api/v1/auth/login", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"


def test_metrics_count_requests_and_verifications(api: Api) -> None:
    api.post("/auth/login/verify", json={"challenge_id": "no-such-challenge", "code": "123456"})
    text = api.client.get("/metrics").text
    assert 'twostep_verifications_total{flow="login",outcome="failure"} 1.0' in text
    assert 'route="/api/v1/auth/login/verify"' in text
    assert "twostep_http_request_seconds_bucket" in text


def test_production_answers_carry_hsts(database_url: str, tmp_path: Path) -> None:
    keyring = Keyring.generate(signing=True)
    settings = Settings(
        env="production", data_dir=tmp_path, database_url=database_url,
        public_url="https://auth.example.test", keyring=keyring.to_json(),
        smtp_url=SecretStr("smtp+starttls://mail.example.test"),
    )  # fmt: skip
    with TestClient(create_app(settings)) as client:
        response = client.get("/healthz")
    assert response.headers["strict-transport-security"].startswith("max-age=")


def test_metric_labels_use_route_templates(api: Api) -> None:
    api.client.patch("/api/v1/2fa/devices/0f3c1d2e", json={"name": "x"})
    api.client.get("/no/such/page")
    text = api.client.get("/metrics").text
    assert 'route="/api/v1/2fa/devices/{device_id}"' in text
    assert "0f3c1d2e" not in text
    assert 'route="unmatched"' in text


def test_a_browser_gets_an_html_not_found_page_and_the_api_gets_json(api: Api) -> None:
    page = api.client.get("/no/such/page", headers={"accept": "text/html"})
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "Page not found" in page.text
    assert not re.search(r"<script(?![^>]*\bsrc=)", page.text)  # no inline script (strict CSP)
    assert "script-src 'self'" in page.headers["content-security-policy"]
    api_answer = api.client.get("/api/v1/nothing", headers={"accept": "text/html"})
    assert api_answer.status_code == 404
    assert api_answer.json()["error"]["code"] == "NOT_FOUND"


def test_an_unreachable_database_answers_503_not_500(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = Settings(
        data_dir=tmp_path, database_url=f"postgresql://nobody@127.0.0.1:{port}/none"
    )
    ctx = build_context(settings, mailer=MemoryMailer(), keyring=Keyring.generate(signing=True))
    client = TestClient(create_app(settings, context=ctx))  # no lifespan: it would migrate
    response = client.post(
        "/api/v1/auth/login", json={"email": "a@example.com", "password": "whatever pass"}
    )
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert response.json()["error"]["code"] == "SERVICE_UNAVAILABLE"
