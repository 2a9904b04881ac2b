"""The OpenAPI document is complete, and the API honours it for generated input.

schemathesis generates requests for every operation from ``/openapi.json``: no request may
produce a 5xx, and every response (status, headers, body) must match its documented schema.
Only "schema-valid input is accepted" is left out: rules such as the password policy or a
real email address cannot be written in JSON Schema, so their 422 answers are correct.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import positive_data_acceptance

from twostep.clock import ManualClock
from twostep.config import Settings
from twostep.mail import MemoryMailer
from twostep.security import Keyring
from twostep.services.context import build_context
from twostep.web.app import create_app


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    data = tmp_path_factory.mktemp("fuzz")
    config = Settings(data_dir=Path(data), login_rate_per_minute=100_000,
                      account_rate_per_minute=100_000)  # fmt: skip
    ctx = build_context(config, clock=ManualClock(), mailer=MemoryMailer(),
                        keyring=Keyring.generate(signing=True))  # fmt: skip
    app = create_app(config, context=ctx)
    with TestClient(app):  # runs the lifespan: migrations
        yield app


@pytest.fixture(scope="module")
def api_schema(fuzz_app: FastAPI) -> Any:
    return schemathesis.openapi.from_asgi("/openapi.json", fuzz_app)


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, op)
        for path, item in document["paths"].items()
        for method, op in item.items()
        if path.startswith("/api/v1/")
    ]


def test_every_operation_documents_its_errors(fuzz_app: FastAPI) -> None:
    """What every operation can answer is in its document, with the error schema."""
    operations = _operations(fuzz_app.openapi())
    assert len(operations) >= 30
    for path, method, op in operations:
        responses = op["responses"]
        assert {"200", "201", "202", "204"} & set(responses), (path, method)
        expected = {"413", "422", "503"}
        if op.get("security"):
            expected |= {"401", "403"}
        if "{" in path:
            expected.add("404")
        assert expected <= set(responses), (path, method, expected - set(responses))
        for status in expected:
            schema = responses[status]["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/ErrorResponse"}, (path, status)


def test_what_an_operation_answers_is_documented(fuzz_app: FastAPI) -> None:
    """Unauthenticated, oversized, malformed and wrong-method requests to every operation:
    each status that comes back is one the operation documents."""
    operations = _operations(fuzz_app.openapi())
    seen: set[int] = set()
    with TestClient(fuzz_app, raise_server_exceptions=False) as client:
        for path, method, op in operations:
            url = path.replace("{", "x").replace("}", "")
            attempts: list[dict[str, Any]] = [
                {},
                {"headers": {"authorization": "Bearer not-a-token"}},
                {"content": b"{" * 64, "headers": {"content-type": "application/json"}},
                {"content": b'"' + b"x" * 200_000 + b'"', "headers": JSON},
                {"content": b"\xff\xfe", "headers": JSON},
                {"params": {"page": "0", "since": "0.5", "until": "x"}},
            ]
            for kwargs in attempts:
                response = client.request(method.upper(), url, **kwargs)
                seen.add(response.status_code)
                assert str(response.status_code) in op["responses"], (
                    method, path, response.status_code, response.text[:200]
                )  # fmt: skip
    assert {401, 413, 422} <= seen


JSON = {"content-type": "application/json"}


def test_api_never_fails_and_matches_its_schema(api_schema: Any) -> None:
    """Every operation, up to 25 generated requests each."""
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 30
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=25, deadline=None, database=None,
            suppress_health_check=list(HealthCheck),
        )  # fmt: skip
        def check(case: Any) -> None:
            case.call_and_validate(excluded_checks=[positive_data_acceptance])

        check()


def test_a_405_allows_exactly_the_documented_methods(fuzz_app: FastAPI) -> None:
    """``OPTIONS`` on every documented path: 405, and ``Allow`` names what the path supports."""
    with TestClient(fuzz_app) as client:
        for path, item in fuzz_app.openapi()["paths"].items():
            documented = {method.upper() for method in item}
            url = path.replace("{", "").replace("}", "")  # a literal id stands in for any
            response = client.options(url)
            assert response.status_code == 405, (path, response.text)
            assert set(response.headers["allow"].split(", ")) == documented, path
            assert response.json()["error"]["code"] == "METHOD_NOT_ALLOWED"
        page = client.put("/account/sessions/revoke-others", headers={"accept": "text/html"})
        assert page.status_code == 405 and page.headers["allow"] == "POST"
        assert "text/html" in page.headers["content-type"]


def test_every_schema_has_one_plain_name(fuzz_app: FastAPI) -> None:
    """Two models of one name get module-qualified component names: one name per concept."""
    names = list(fuzz_app.openapi()["components"]["schemas"])
    assert [n for n in names if "__" in n] == []
