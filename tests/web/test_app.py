from __future__ import annotations

from fastapi.testclient import TestClient

from twostep.config import Settings
from twostep.web.app import create_app


def test_healthz_answers_ok(tmp_path: object) -> None:
    app = create_app(Settings(data_dir=tmp_path))  # type: ignore[arg-type]
    with TestClient(app) as client:
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
