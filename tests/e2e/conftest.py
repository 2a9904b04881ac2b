"""A real twostep server and a real Chromium for browser tests.

``live_server`` runs ``uvicorn`` on 127.0.0.1 (a free port) in a background thread, with
development settings, a temporary data directory and SQLite: mail lands in the dev outbox on
disk, exactly as for someone trying twostep on a laptop. ``browser`` is Debian's Chromium,
headless, driven by Playwright; without it the tests skip (or fail under ``CI=true``).
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, Playwright, sync_playwright

from tests.support.tools import need_binary
from tests.support.waiting import wait_for
from twostep.clock import SystemClock
from twostep.config import Settings
from twostep.mail.outbox import Outbox, StoredMessage
from twostep.web.app import create_app

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


@dataclass
class LiveServer:
    """The running server: its URL, settings and the outbox its mail goes to."""

    url: str
    settings: Settings
    outbox: Outbox

    def mail(self, to: str, tag: str, *, after: int = 0, timeout: float = 10.0) -> StoredMessage:
        """The newest mail of ``tag`` to ``to`` once more than ``after`` such mails exist.

        Mail leaves in the background (the request does not wait for it), so this polls the
        outbox directory for a bounded time.
        """

        def newest() -> StoredMessage | None:
            found = [m for m in self.outbox.list(200) if m.to == to and m.tag == tag]
            return found[0] if len(found) > after else None

        return wait_for(newest, timeout=timeout, failure=f"no {tag} mail to {to}")

    def count(self, to: str, tag: str) -> int:
        return len([m for m in self.outbox.list(200) if m.to == to and m.tag == tag])


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    yield from serve(tmp_path, "127.0.0.1")


@pytest.fixture
def localhost_server(tmp_path: Path) -> Iterator[LiveServer]:
    """The server reached as ``http://localhost:PORT``: a secure context for WebAuthn (an IP
    address can be no relying party id), so security keys and passkeys work over http."""
    yield from serve(tmp_path, "localhost")


def serve(tmp_path: Path, host_name: str) -> Iterator[LiveServer]:
    """Run a server on a free loopback port, published as ``http://{host_name}:PORT``."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    settings = Settings(
        env="development",
        data_dir=tmp_path / "data",
        public_url=f"http://{host_name}:{port}",
        login_rate_per_minute=10_000,
        account_rate_per_minute=10_000,
        email_code_cooldown_seconds=0,
    )
    config = uvicorn.Config(
        create_app(settings), log_level="warning", lifespan="on", access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()

    def started() -> bool:
        if not thread.is_alive():
            raise RuntimeError("the twostep server stopped while starting")
        return bool(server.started)

    wait_for(started, timeout=20, failure="the twostep server did not start", interval=0.02)
    try:
        outbox = Outbox(settings.data_dir / "outbox", SystemClock())
        yield LiveServer(f"http://{host_name}:{port}", settings, outbox)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture(scope="session")
def playwright_driver() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture
def browser(playwright_driver: Playwright) -> Iterator[Browser]:
    chromium = need_binary("chromium")
    launched = playwright_driver.chromium.launch(
        executable_path=chromium, args=CHROMIUM_ARGS, headless=True
    )
    try:
        yield launched
    finally:
        launched.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
