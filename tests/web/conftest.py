"""An API client on a real app over each database, with a manual clock and a memory mailer.

``TestClient`` drives the ASGI app in-process; the app is built by ``create_app`` with an
injected context, so TOTP codes are computed at the clock's time and mail is read back.
``redis_url`` is a real Redis server, for the modules that share rate limits through one.
"""

from __future__ import annotations

import re
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from tests.support.tools import need_binary
from tests.support.waiting import wait_for
from twostep.clock import ManualClock
from twostep.config import Settings
from twostep.mail import MemoryMailer
from twostep.otp import decode_secret, totp
from twostep.security import Keyring
from twostep.services.context import build_context
from twostep.web.app import create_app

T0 = datetime(2026, 5, 6, 7, 8, 9, tzinfo=UTC)
PASSWORD = "correct horse battery staple"
INTROSPECTION = ("twostep-introspect", "introspection-secret-for-tests")


@dataclass
class Api:
    """The client plus what tests need to play the user's part."""

    client: TestClient
    clock: ManualClock
    mailer: MemoryMailer
    settings: Settings

    def post(self, path: str, token: str | None = None, **kw: Any) -> Any:
        return self.client.post(f"/api/v1{path}", headers=self._headers(token, kw), **kw)

    def get(self, path: str, token: str | None = None, **kw: Any) -> Any:
        return self.client.get(f"/api/v1{path}", headers=self._headers(token, kw), **kw)

    @staticmethod
    def _headers(token: str | None, kw: dict[str, Any]) -> dict[str, str]:
        headers: dict[str, str] = dict(kw.pop("headers", {}))
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return headers

    def code(self, secret: str, offset_steps: int = 0) -> str:
        return totp(decode_secret(secret).key, self.clock.now().timestamp() + 30 * offset_steps)

    def mailed(self, address: str, pattern: str) -> str:
        """The first match of ``pattern`` in the newest mail to ``address``."""
        message = self.mailer.to(address)[-1]
        found = re.search(pattern, message.text)
        assert found is not None, message.text
        return found.group(1)

    def verify_address(self, address: str, token: str) -> None:
        """Confirm ``address`` with its mailed code from a signed-in session of the account."""
        code = self.mailed(address, r"\b(\d{6})\b")
        reply = self.post("/auth/email/verify", token, json={"email": address, "code": code})
        assert reply.status_code == 200, reply.text


@pytest.fixture(scope="session")
def web_keyring() -> Keyring:
    return Keyring.generate(signing=True)


@pytest.fixture
def api(database_url: str, tmp_path: Path, web_keyring: Keyring) -> Iterator[Api]:
    settings = Settings(
        data_dir=tmp_path,
        database_url=database_url,
        public_url="https://auth.example.test",
        introspection_client_id=INTROSPECTION[0],
        introspection_client_secret=SecretStr(INTROSPECTION[1]),
        login_rate_per_minute=10_000,
        account_rate_per_minute=10_000,
    )
    clock, mailer = ManualClock(T0), MemoryMailer()
    ctx = build_context(settings, clock=clock, mailer=mailer, keyring=web_keyring)
    with TestClient(create_app(settings, context=ctx), base_url="https://testserver") as client:
        yield Api(client, clock, mailer, settings)


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real ``redis-server`` on a free loopback port, for this module; its URL."""
    binary = need_binary("redis-server")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    workdir: Path = tmp_path_factory.mktemp("redis")
    server = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(workdir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip

    def listening() -> bool:
        if server.poll() is not None:
            raise RuntimeError("redis-server exited while starting")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        except OSError:
            return False
        return True

    try:
        wait_for(listening, timeout=10, failure="redis-server did not start")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.terminate()
        server.wait(timeout=10)
