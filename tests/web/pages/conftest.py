"""A browser-like client for the pages: cookies, CSRF tokens from forms, a manual clock.

``site`` is a development deployment served over https (so its cookies are ``__Host-``
ones); ``make_site(**settings)`` builds others (production, ``MFA=required``, plain http).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from fastapi.testclient import TestClient

from tests.web.conftest import PASSWORD, T0
from twostep.clock import ManualClock
from twostep.config import Settings
from twostep.mail import Mailer, MemoryMailer
from twostep.otp import decode_secret, totp
from twostep.security import Keyring
from twostep.services.context import build_context
from twostep.web.app import create_app

EMAIL = "robin@example.com"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
SECRET = re.compile(r'data-copy="([A-Z2-7]+)"')
DEVICE = re.compile(r'name="device_id" value="([^"]+)"')
BACKUP = re.compile(r"<li><code>([0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4})</code></li>")

__all__ = ["EMAIL", "PASSWORD", "Site"]


@dataclass
class Site:
    """A client on one app, plus the user's side: their clock, inbox and authenticator."""

    client: TestClient
    clock: ManualClock
    mailer: Mailer
    settings: Settings
    secret: str = ""

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.client.get(path, follow_redirects=False, **kw)

    def token(self, path: str = "/login") -> str:
        """The CSRF token of the form on ``path``."""
        page = self.client.get(path)
        found = CSRF.search(page.text)
        assert found is not None, page.text
        return found.group(1)

    def submit(
        self, path: str, data: dict[str, str], *, form_page: str = "/login"
    ) -> httpx.Response:
        """POST ``data`` to ``path`` with the CSRF token of ``form_page``; no redirects."""
        fields = {"csrf_token": self.token(form_page), **data}
        reply: httpx.Response = self.client.post(path, data=fields, follow_redirects=False)
        return reply

    def code(self, offset_steps: int = 0) -> str:
        at = self.clock.now().timestamp() + 30 * offset_steps
        return totp(decode_secret(self.secret).key, at)

    def next_step(self) -> None:
        """Move to the next 30-second step, so the authenticator shows a fresh code."""
        self.clock.advance(30)

    def mailed(self, pattern: str) -> str:
        assert isinstance(self.mailer, MemoryMailer)
        message = self.mailer.to(EMAIL)[-1]
        found = re.search(pattern, message.text)
        assert found is not None, message.text
        return found.group(1)

    def register(self, email: str = EMAIL) -> None:
        reply = self.submit("/register", {"email": email, "password": PASSWORD})
        assert reply.status_code == 303, reply.text

    def login(self, email: str = EMAIL, password: str = PASSWORD) -> httpx.Response:
        return self.submit("/login", {"email": email, "password": password})

    def start_enrolment(self, name: str = "Phone") -> httpx.Response:
        """Start an enrolment and follow it to the key page (post, redirect, get)."""
        started = self.submit("/enroll", {"device_name": name}, form_page="/enroll")
        assert started.status_code == 303, started.text
        page: httpx.Response = self.client.get(started.headers["location"])
        return page

    def enroll(self) -> list[str]:
        """Enroll an authenticator from the signed-in session; the backup codes shown."""
        page = self.start_enrolment()
        assert page.status_code == 200, page.text
        secret, device = SECRET.search(page.text), DEVICE.search(page.text)
        assert secret is not None and device is not None
        self.secret = secret.group(1)
        done = self.submit(
            "/enroll/confirm",
            {"device_id": device.group(1), "secret": self.secret, "code": self.code()},
            form_page="/account",
        )
        assert done.status_code == 200, done.text
        self.next_step()
        return BACKUP.findall(done.text)

    def other_browser(self) -> Site:
        """Another browser (its own cookies) on the same app, user and authenticator."""
        client = TestClient(self.client.app, base_url=str(self.client.base_url))
        return Site(client, self.clock, self.mailer, self.settings, self.secret)

    def verify(self, email: str = EMAIL) -> None:
        """Confirm the address with the mailed code from the signed-in session."""
        code = self.mailed(r"\b(\d{6})\b")
        reply = self.submit("/verify-email", {"email": email, "code": code})
        assert reply.status_code == 303, reply.text

    def signed_up(self) -> list[str]:
        """Register, sign in, confirm the address and enroll; the backup codes."""
        self.register()
        assert self.login().headers["location"] == "/account"
        self.verify()
        return self.enroll()


SiteFactory = Callable[..., Site]


@pytest.fixture
def make_site(database_url: str, tmp_path: Path, web_keyring: Keyring) -> Iterator[SiteFactory]:
    with ExitStack() as stack:

        def build(mailer: Mailer | None = None, **overrides: Any) -> Site:
            values: dict[str, Any] = {
                "data_dir": tmp_path,
                "database_url": database_url,
                "public_url": "https://auth.example.test",
                "login_rate_per_minute": 10_000,
                "account_rate_per_minute": 10_000,
                **overrides,
            }
            settings = Settings(**values)
            clock, mailer = ManualClock(T0), mailer or MemoryMailer()
            ctx = build_context(settings, clock=clock, mailer=mailer, keyring=web_keyring)
            base = "http://testserver" if values["public_url"].startswith("http:") else None
            client = TestClient(
                create_app(settings, context=ctx), base_url=base or "https://testserver"
            )
            stack.enter_context(client)
            return Site(client, clock, mailer, settings)

        yield build


@pytest.fixture
def site(make_site: SiteFactory) -> Site:
    return make_site()
