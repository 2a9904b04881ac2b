"""Forward authentication with the real proxies: nginx and Caddy in front of an app.

Each proxy runs the configuration the README shows (``examples/forward-auth/``, with its
ports and ``example.com`` swapped for free loopback ports and ``example.test``), in front of
a tiny upstream app that echoes the ``Remote-*`` headers it receives, and of twostep itself.
Chromium maps ``*.example.test`` to 127.0.0.1 and walks the journey: a public path reached
signed out, a denied one refused, the app sending it to sign in (password and code) and back,
a ``max_age`` rule asking for a fresh code, and sign-out ending access on the next request.

Development over plain http: the single-sign-on cookie's ``Secure`` flag is relaxed with
``TWOSTEP_COOKIE_SECURE=false``, which only development allows.
"""

from __future__ import annotations

import html
import re
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from playwright.sync_api import Page, Playwright, expect
from sqlalchemy import create_engine, text

from tests.e2e.conftest import CHROMIUM_ARGS
from tests.e2e.support import enroll
from tests.support.tools import need_binary
from tests.support.waiting import wait_for
from twostep.clock import ManualClock
from twostep.config import Settings
from twostep.otp import decode_secret, totp
from twostep.services.context import build_context
from twostep.services.operations import create_user
from twostep.web.app import create_app

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "forward-auth"
EMAIL = "robin@example.com"
PASSWORD = "correct horse battery staple"
PROXIES = {"nginx": "nginx.conf", "caddy": "Caddyfile"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def localized(name: str, proxy: int, twostep: int, app: int) -> str:
    """An example file as the tests run it: free ports, and ``example.test`` for the domain."""
    content = (EXAMPLES / name).read_text(encoding="utf-8")
    content = content.replace("127.0.0.1:9091", f"127.0.0.1:{twostep}")
    content = content.replace("127.0.0.1:3000", f"127.0.0.1:{app}")
    content = content.replace("listen 8080;", f"listen 127.0.0.1:{proxy};")
    content = content.replace("example.com:8080", f"example.com:{proxy}")
    return content.replace("example.com", "example.test")


async def echo_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The upstream app: a page naming the ``Remote-*`` headers the proxy passed on."""
    if scope["type"] != "http":
        return
    headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
    user = html.escape(headers.get("remote-user") or "nobody")
    groups = html.escape(headers.get("remote-groups", ""))
    path = html.escape(scope["path"])
    body = (
        f"<!doctype html><title>The app</title><h1>The app</h1><p>Path: <code>{path}</code></p>"
        f"<p id='user'>Remote-User: {user}</p><p id='groups'>Remote-Groups: {groups}</p>"
    ).encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/html; charset=utf-8")]})  # fmt: skip
    await send({"type": "http.response.body", "body": body})


def serve_in_thread(app: Any, port: int) -> tuple[uvicorn.Server, threading.Thread]:
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                            lifespan="on", access_log=False)  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for(lambda: server.started, timeout=20, failure="a server did not start", interval=0.02)
    return server, thread


def listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
    except OSError:
        return False
    return True


@dataclass
class Stack:
    """The proxy's port, twostep's settings, and the enrolled user's authenticator key."""

    proxy: str
    port: int
    settings: Settings
    secret: str

    @property
    def app(self) -> str:
        return f"http://app.example.test:{self.port}"

    @property
    def auth(self) -> str:
        return f"http://auth.example.test:{self.port}"

    def code(self, offset_steps: int = 0) -> str:
        at = datetime.now(UTC).timestamp() + 30 * offset_steps
        return totp(decode_secret(self.secret).key, at)

    def age_second_factor(self, minutes: int) -> None:
        """Pretend the last code was typed ``minutes`` ago (no test waits five minutes)."""
        engine = create_engine(self.settings.resolved_database_url)
        earlier = datetime.now(UTC) - timedelta(minutes=minutes)
        with engine.begin() as conn:
            conn.execute(text("UPDATE sessions SET second_factor_at = :t"), {"t": earlier})
        engine.dispose()


def start_proxy(name: str, workdir: Path, config: str, port: int) -> subprocess.Popen[bytes]:
    if name == "nginx":
        binary = shutil.which("nginx") or "/usr/sbin/nginx"
        if not Path(binary).exists():
            need_binary("nginx")
        (workdir / "logs").mkdir()
        (workdir / "servers.conf").write_text(config, encoding="utf-8")
        main = (
            "daemon off;\nworker_processes 1;\npid nginx.pid;\nerror_log logs/error.log;\n"
            "events { worker_connections 64; }\n"
            "http {\n  access_log off;\n  client_body_temp_path tmp;\n  proxy_temp_path tmp;\n"
            "  fastcgi_temp_path tmp;\n  uwsgi_temp_path tmp;\n  scgi_temp_path tmp;\n"
            "  include servers.conf;\n}\n"
        )
        (workdir / "nginx.conf").write_text(main, encoding="utf-8")
        command = [binary, "-p", str(workdir), "-c", "nginx.conf", "-e", "logs/error.log"]
    else:
        binary = need_binary("caddy")
        (workdir / "Caddyfile").write_text(config, encoding="utf-8")
        command = [binary, "run", "--config", "Caddyfile", "--adapter", "caddyfile"]
    env = {"HOME": str(workdir), "XDG_DATA_HOME": str(workdir), "XDG_CONFIG_HOME": str(workdir),
           "PATH": "/usr/bin:/bin"}  # fmt: skip
    process = subprocess.Popen(command, cwd=workdir, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)  # fmt: skip

    def up() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited while starting")
        return listening(port)

    wait_for(up, timeout=20, failure=f"{name} did not start")
    return process


@pytest.fixture(params=sorted(PROXIES))
def stack(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Stack]:
    name: str = request.param
    proxy_port, twostep_port, app_port = free_port(), free_port(), free_port()
    rules = tmp_path / "rules.toml"
    rules.write_text(localized("rules.toml", proxy_port, twostep_port, app_port), "utf-8")
    settings = Settings(
        env="development", data_dir=tmp_path / "data",
        public_url=f"http://auth.example.test:{proxy_port}", cookie_domain="example.test",
        cookie_secure=False, trusted_proxies=["127.0.0.1"], access_rules=rules,
        login_rate_per_minute=10_000, account_rate_per_minute=10_000,
    )  # fmt: skip
    servers = [serve_in_thread(create_app(settings), twostep_port),
               serve_in_thread(echo_app, app_port)]  # fmt: skip
    # Seed an enrolled account a minute in the past, so the code now is a fresh one.
    clock = ManualClock(datetime.now(UTC) - timedelta(seconds=60))
    ctx = build_context(settings, clock=clock)
    user = create_user(ctx, EMAIL, PASSWORD)
    secret = enroll(ctx, clock, user)
    ctx.db.dispose()
    workdir = tmp_path / name
    workdir.mkdir()
    config = localized(PROXIES[name], proxy_port, twostep_port, app_port)
    process = start_proxy(name, workdir, config, proxy_port)
    try:
        yield Stack(name, proxy_port, settings, secret)
    finally:
        process.terminate()
        process.wait(timeout=10)
        for server, thread in servers:
            server.should_exit = True
            thread.join(timeout=10)


@pytest.fixture
def page(playwright_driver: Playwright, stack: Stack) -> Iterator[Page]:
    chromium = need_binary("chromium")
    args = [*CHROMIUM_ARGS, "--host-resolver-rules=MAP *.example.test 127.0.0.1"]
    browser = playwright_driver.chromium.launch(executable_path=chromium, args=args,
                                                headless=True)  # fmt: skip
    try:
        yield browser.new_page()
    finally:
        browser.close()


def test_the_journey_through_the_proxy(page: Page, stack: Stack, screenshots: Path) -> None:
    # A bypass path is reachable signed out; a deny path is refused.
    page.goto(f"{stack.app}/public/readme")
    expect(page.locator("#user")).to_have_text("Remote-User: nobody")
    assert page.goto(f"{stack.app}/internal/x").status == 403  # type: ignore[union-attr]

    # The app sends the browser to twostep, which brings it back after password and code.
    page.goto(f"{stack.app}/notes?id=7")
    page.wait_for_url(re.compile(re.escape(f"{stack.auth}/login?rd=")))
    page.get_by_label("Email address").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_label("Authentication code").fill(stack.code())  # submits itself
    page.wait_for_url(f"{stack.app}/notes?id=7")
    expect(page.locator("#user")).to_have_text(f"Remote-User: {EMAIL}")
    expect(page.locator("#groups")).to_have_text("Remote-Groups: user")
    page.screenshot(path=str(screenshots / f"forward-auth-{stack.proxy}-app.png"))

    # A max_age rule: a code typed just now is enough; an older one sends to step-up and back.
    page.goto(f"{stack.app}/admin/")
    expect(page.locator("#user")).to_have_text(f"Remote-User: {EMAIL}")
    stack.age_second_factor(minutes=10)
    page.goto(f"{stack.app}/admin/")
    page.wait_for_url(re.compile(re.escape(f"{stack.auth}/step-up?rd=")))
    expect(page.get_by_label("Authentication code")).to_be_visible()
    page.screenshot(path=str(screenshots / f"forward-auth-{stack.proxy}-step-up.png"))
    page.get_by_label("Authentication code").fill(stack.code(1))
    page.wait_for_url(f"{stack.app}/admin/")
    expect(page.locator("#user")).to_have_text(f"Remote-User: {EMAIL}")

    # Sign-out at twostep ends access at the app on the next request.
    page.goto(f"{stack.auth}/logout")
    page.locator("#main").get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(re.escape(f"{stack.auth}/login")))
    page.goto(f"{stack.app}/notes")
    page.wait_for_url(re.compile(re.escape(f"{stack.auth}/login?rd=")))
