"""``/readyz``: the database, and Redis and SMTP when configured (SMTP only warns)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from tests.mail.conftest import ServerFactory, free_port, smtp_server  # noqa: F401
from twostep.config import Settings
from twostep.web.app import create_app
from twostep.web.health import CachedProbe


def ready(settings: Settings) -> tuple[int, dict[str, object]]:
    with TestClient(create_app(settings)) as client:
        response = client.get("/readyz")
    return response.status_code, response.json()


def test_readyz_reports_the_database(tmp_path: Path) -> None:
    assert ready(Settings(data_dir=tmp_path)) == (200, {"status": "ok", "database": "ok"})


def test_readyz_reports_redis_when_configured(tmp_path: Path, redis_url: str) -> None:
    status, body = ready(Settings(data_dir=tmp_path, redis_url=redis_url))
    assert (status, body["redis"]) == (200, "ok")


def test_an_unreachable_redis_makes_the_node_unready(tmp_path: Path) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    status, body = ready(Settings(data_dir=tmp_path, redis_url=url, login_rate_per_minute=5))
    assert status == 503
    assert body == {"status": "unavailable", "database": "ok", "redis": "unreachable"}


def test_readyz_reports_smtp_when_configured(
    tmp_path: Path,
    smtp_server: ServerFactory,  # noqa: F811
) -> None:
    server = smtp_server()
    url = SecretStr(f"smtp://{server.host}:{server.port}")
    status, body = ready(Settings(data_dir=tmp_path, smtp_url=url))
    assert (status, body["smtp"]) == (200, "ok")
    assert "warnings" not in body
    assert server.received == []  # a probe sends no mail


def test_an_unreachable_smtp_server_is_a_warning_not_a_failure(tmp_path: Path) -> None:
    url = SecretStr(f"smtp://user:secret-password@127.0.0.1:{free_port()}")
    status, body = ready(Settings(data_dir=tmp_path, smtp_url=url))
    assert status == 200
    assert body["status"] == "ok" and body["smtp"] == "unreachable"
    assert body["warnings"] == ["smtp: the mail server does not answer; mail is retried"]
    assert "secret-password" not in str(body)


def test_the_smtp_probe_is_cached() -> None:
    now = [0.0]
    answers = iter([False, True])
    calls: list[int] = []

    def check() -> bool:
        calls.append(1)
        return next(answers)

    probe = CachedProbe(check, ttl=30, clock=lambda: now[0])
    assert probe() is False and probe() is False and len(calls) == 1
    now[0] = 31
    assert probe() is True and len(calls) == 2


def test_liveness_answers_before_the_app_with_the_usual_headers(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with TestClient(create_app(Settings(data_dir=tmp_path))) as client:
        with caplog.at_level(logging.INFO, logger="twostep.access"):
            live = client.get("/healthz")
        wrong_method = client.post("/healthz")
        metrics = client.get("/metrics").text
    assert live.status_code == 200 and live.json() == {"status": "ok"}
    assert live.headers["content-type"] == "application/json"
    assert live.headers["x-content-type-options"] == "nosniff"
    assert "default-src 'none'" in live.headers["content-security-policy"]
    logged = [r.getMessage() for r in caplog.records if r.name == "twostep.access"]
    assert not [line for line in logged if '"GET /healthz"' in line]  # probes are not logged
    assert 'route="/healthz",status="200"' not in metrics  # nor counted
    assert wrong_method.status_code == 405  # anything but GET goes to the app as before
