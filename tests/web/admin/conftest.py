"""Two browsers on one app: an administrator's and a user's, both signed in with 2FA.

Built on the user pages' fixtures (``site`` / ``make_site``), so cookies, CSRF tokens and
the manual clock behave as they do there. The administrator is made the documented way
(:func:`twostep.services.operations.create_user` with ``admin=True``, as
``twostep users create --admin`` does), then signs in and enrolls through the pages.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast
from urllib.parse import quote

import httpx2 as httpx
import pytest
from fastapi import FastAPI

from tests.web.pages.conftest import EMAIL, PASSWORD, Site, SiteFactory, make_site, site
from twostep.services.context import Context
from twostep.services.operations import create_user
from twostep.store import audit, users

__all__ = [
    "ADMIN",
    "EMAIL",
    "PASSWORD",
    "Console",
    "ConsoleFactory",
    "make_site",
    "parse_svg",
    "site",
    "svgs",
]

ADMIN = "root@example.com"
SVG = re.compile(r'<div class="chart-frame">(<svg xmlns=.*?</svg>)</div>', re.S)


@dataclass
class Console:
    """The administrator's browser, the user's browser, and the app's context."""

    admin: Site
    user: Site
    ctx: Context
    user_id: str
    admin_id: str

    def step_up(self, next_url: str) -> None:
        """Confirm the admin session with a fresh code, landing back on ``next_url``."""
        reply = self.admin.submit(
            "/step-up", {"code": self.admin.code(), "next": next_url}, form_page="/step-up"
        )
        assert reply.status_code == 303 and reply.headers["location"] == next_url, reply.text
        self.admin.next_step()

    def confirm_url(self, action: str, user_id: str | None = None) -> str:
        return f"/admin/users/{quote(user_id or self.user_id)}/{action}"

    def act(self, action: str, user_id: str | None = None, **fields: str) -> httpx.Response:
        """POST an action with the CSRF token of its confirmation page."""
        url = self.confirm_url(action, user_id)
        return self.admin.submit(url, fields, form_page=url)

    def events(self, event: str) -> list[audit.AuditEvent]:
        with self.ctx.db.transaction(readonly=True) as tx:
            return audit.query(tx, event=event, limit=200)

    def account(self, user_id: str | None = None) -> users.User:
        with self.ctx.db.transaction(readonly=True) as tx:
            found = users.get(tx, user_id or self.user_id)
        assert found is not None
        return found


def context_of(site: Site) -> Context:
    app = cast(FastAPI, site.client.app)
    ctx: Context = app.state.twostep.ctx
    return ctx


def open_console(site: Site) -> Console:
    """Sign the user up (with 2FA), then create, sign in and enroll the administrator."""
    site.register()
    first_stop = ("/account", "/enroll")  # "/enroll" when the deployment requires 2FA
    assert site.login().headers["location"] in first_stop
    site.verify()
    site.enroll()
    ctx = context_of(site)
    operator = create_user(ctx, ADMIN, PASSWORD, admin=True)
    admin = site.other_browser()
    admin.secret = ""
    assert admin.login(ADMIN).headers["location"] in first_stop
    admin.enroll()
    # The console needs a session that proved a second factor: sign in again with a code,
    # then let the elevation that sign-in grants run out, so actions still ask for a step-up.
    admin.submit("/logout", {})
    assert admin.login(ADMIN).headers["location"] == "/login/2fa"
    two_fa = admin.submit("/login/2fa", {"code": admin.code()}, form_page="/login/2fa")
    assert two_fa.status_code == 303, two_fa.text
    site.clock.advance(ctx.settings.elevation_minutes * 60)
    with ctx.db.transaction(readonly=True) as tx:
        user = users.get_by_email(tx, EMAIL)
    assert user is not None
    return Console(admin, site, ctx, user.id, operator.id)


@pytest.fixture
def console(site: Site) -> Console:
    return open_console(site)


ConsoleFactory = Callable[..., Console]


@pytest.fixture
def make_console(make_site: SiteFactory) -> ConsoleFactory:
    """Build a console on a site with other settings (``MFA=required`` …)."""

    def build(**overrides: object) -> Console:
        return open_console(make_site(**overrides))

    return build


def svgs(html: str) -> list[ET.Element]:
    """The inline SVG charts of a page, parsed (so each is well-formed XML)."""
    return [parse_svg(found) for found in SVG.findall(html)]


def parse_svg(text: str) -> ET.Element:
    """Parse markup this app generated itself (no untrusted XML reaches the parser)."""
    return ET.fromstring(text)  # noqa: S314
