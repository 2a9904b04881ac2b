"""The access log keeps tokens out; the body limit holds without a Content-Length."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from tests.web.conftest import Api


def test_access_log_leaves_the_query_string_out(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    secret = "tok_Sup3rS3cretValue"
    with caplog.at_level(logging.INFO, logger="twostep.access"):
        api.client.get(f"/healthz?token={secret}")
        api.post("/auth/password/reset/check", json={"token": secret})
    lines = [r.getMessage() for r in caplog.records if r.name == "twostep.access"]
    assert any('"GET /healthz" 200' in line for line in lines)
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
