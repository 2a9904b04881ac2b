from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import anyio
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy.exc import OperationalError

from twostep.config import Settings
from twostep.errors import ConfigurationError
from twostep.services import maintenance
from twostep.services.context import Context, build_context
from twostep.store import Database, migrate, throttles
from twostep.web.app import create_app, purge_periodically


def test_development_start_creates_database_and_keyring(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path))
    with TestClient(app) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        assert client.get("/readyz").json() == {"status": "ok", "database": "ok"}
    assert (tmp_path / "twostep.sqlite3").exists()
    assert (tmp_path / "keyring.json").stat().st_mode & 0o077 == 0


def test_production_refuses_a_schema_that_is_behind(tmp_path: Path) -> None:
    keyring = tmp_path / "keyring.json"
    build_context(Settings(data_dir=tmp_path))  # development: generates the keyring file
    settings = Settings(
        env="production",
        data_dir=tmp_path,
        public_url="https://auth.example.test",
        keyring=str(keyring),
        smtp_url=SecretStr("smtp+starttls://mail.example.test"),
    )
    app = create_app(settings)
    with pytest.raises(ConfigurationError, match="twostep migrate"), TestClient(app):
        pass
    migrate.upgrade(settings.resolved_database_url)
    with TestClient(create_app(settings)) as client:
        assert client.get("/readyz").status_code == 200


def test_readyz_reports_a_schema_behind(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    app = create_app(settings)
    with TestClient(app) as client:
        migrate.downgrade(Database.from_url(settings.resolved_database_url), "base")
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["database"] == "schema behind"


def test_docs_are_served_from_the_package_under_a_strict_csp(tmp_path: Path) -> None:
    with TestClient(create_app(Settings(data_dir=tmp_path))) as client:
        page = client.get("/docs")
        bundle = client.get("/docs/assets/swagger-ui-bundle.js")
        licence = client.get("/docs/assets/LICENSE")
        unknown = client.get("/docs/assets/index.html")
        redoc = client.get("/redoc")
        init = client.get("/static/docs-init.js")
    assert page.status_code == 200
    assert "<script>" not in page.text and "http" not in page.text
    csp = page.headers["content-security-policy"]
    assert "script-src 'self';" in csp and "unsafe-inline" not in csp and "https:" not in csp
    assert bundle.status_code == 200 and bundle.headers["content-type"].startswith("text/javasc")
    assert "Apache License" in licence.text
    assert unknown.status_code == 404
    assert redoc.status_code == 404
    assert init.status_code == 200 and "SwaggerUIBundle" in init.text


class _Stop(Exception):
    pass


def test_the_server_purges_expired_rows_on_a_schedule(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    ctx = build_context(Settings(data_dir=tmp_path))
    migrate.upgrade(ctx.db)
    long_ago = ctx.clock.now() - timedelta(days=10)
    with ctx.db.transaction() as tx:
        throttles.register_failure(tx, "login:ip:192.0.2.1", long_ago, 5, 60)
    real_purge = maintenance.purge_if_free
    rounds: list[str] = []

    def flaky_purge(context: Context) -> maintenance.PurgeReport:
        rounds.append("purge")
        if len(rounds) == 1:
            raise OperationalError("DELETE", {}, Exception("database is locked"))
        return real_purge(context)

    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 3:
            raise _Stop

    monkeypatch.setattr(maintenance, "purge_if_free", flaky_purge)
    # A thread of its own: the browser tests' driver may hold an event loop in this one.
    with ThreadPoolExecutor(1) as pool:
        loop = pool.submit(anyio.run, lambda: purge_periodically(ctx, every=300, sleep=sleep))
        with pytest.raises(_Stop):
            loop.result(timeout=60)
    assert waits == [300, 300, 300] and rounds == ["purge", "purge"]
    assert "purge failed: OperationalError" in caplog.text
    with ctx.db.transaction(readonly=True) as tx:
        assert throttles.get(tx, "login:ip:192.0.2.1") is None
    ctx.db.dispose()
