"""``/metrics``: public by default, behind a bearer token when ``metrics_token`` is set."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from twostep.config import Settings
from twostep.errors import ConfigurationError
from twostep.mail import MemoryMailer, Message
from twostep.web.app import create_app
from twostep.web.metrics import scrape_allowed

TOKEN = "scrape-token-for-the-tests-0123456789"


@pytest.fixture
def guarded(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path, metrics_token=SecretStr(TOKEN))
    with TestClient(create_app(settings)) as client:
        yield client


def test_metrics_are_public_without_a_token(tmp_path: Path) -> None:
    with TestClient(create_app(Settings(data_dir=tmp_path))) as client:
        response = client.get("/metrics")
    assert response.status_code == 200
    assert "twostep_http_requests" in response.text


def test_metrics_need_the_token_when_one_is_set(guarded: TestClient) -> None:
    refused = guarded.get("/metrics")
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "UNAUTHENTICATED"
    assert "twostep_http" not in refused.text
    for header in (
        f"Bearer {TOKEN[:-1]}",
        f"Bearer {TOKEN}x",
        f"Basic {TOKEN}",
        TOKEN,
        "Bearer ",
    ):
        assert guarded.get("/metrics", headers={"Authorization": header}).status_code == 401
    allowed = guarded.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert allowed.status_code == 200
    assert "twostep_http_requests" in allowed.text


def test_docs_and_openapi_stay_public_with_a_metrics_token(guarded: TestClient) -> None:
    assert guarded.get("/openapi.json").status_code == 200
    assert guarded.get("/docs").status_code == 200


def test_a_short_metrics_token_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="METRICS_TOKEN"):
        Settings(metrics_token=SecretStr("short"))


@pytest.mark.parametrize(
    ("header", "allowed"),
    [
        (None, False),
        ("", False),
        (f"Bearer {TOKEN}", True),
        (f"bearer {TOKEN}", True),
        (f"Bearer  {TOKEN} ", True),
        (f"Bearer {TOKEN.upper()}", False),
        (f"Token {TOKEN}", False),
    ],
)
def test_scrape_allowed(header: str | None, allowed: bool) -> None:
    assert scrape_allowed(header, SecretStr(TOKEN)) is allowed
    assert scrape_allowed(header, None) is True


def test_mail_failures_are_counted_by_tag_and_outcome(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path))
    ctx = app.state.twostep.ctx
    with TestClient(app) as client:
        ctx.mailer = MemoryMailer(failing=True)  # a final failure: no retry
        assert ctx.mail_queue is not None
        ctx.mail_queue.put(Message(to="a@example.com", subject="s", text="t", tag="new_device"))
        ctx.mail_queue.join()
        text = client.get("/metrics").text
    assert 'twostep_mail_failures_total{outcome="failed",tag="new_device"} 1.0' in text


def test_route_labels_name_the_docs_and_static_routes(tmp_path: Path) -> None:
    with TestClient(create_app(Settings(data_dir=tmp_path))) as client:
        for path in ("/docs", "/docs/assets/swagger-ui.css", "/openapi.json",
                     "/static/twostep.css", "/no/such/page"):  # fmt: skip
            client.get(path)
        text = client.get("/metrics").text
    for route, status in [
        ("/docs", 200),
        ("/docs/assets/{name}", 200),
        ("/openapi.json", 200),
        ("/static/{path}", 200),
        ("unmatched", 404),
    ]:
        assert f'method="GET",route="{route}",status="{status}"' in text, route
    assert 'route="/docs/assets/swagger-ui.css"' not in text
