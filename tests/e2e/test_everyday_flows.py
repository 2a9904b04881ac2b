"""Everyday sign-in flows in a real Chromium, with screenshots of each state at 375 and 1280 px:
the code just used is not asked again, wrong codes say how many tries are left, a locked
account sees when it unlocks instead of a code form, and a reloaded enrolment keeps its key.

Devices are enrolled a minute back through the services, so the first sign-in code needs no
wait; TOTP runs on real time (oathtool), at most one bounded wait for a fresh step.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import LiveServer
from tests.e2e.support import DESKTOP, enroll, shoot, watch_errors
from tests.support.authenticator import Authenticator
from tests.support.tools import need_binary
from twostep.clock import ManualClock
from twostep.mail import MemoryMailer
from twostep.services.context import build_context
from twostep.services.operations import create_user
from twostep.store import users

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

PASSWORD = "lantern over the quiet bay"
STEADY, LOCKED, NEW = "kai@example.com", "mo@example.com", "noa@example.com"
RESET, ADMIN = "ren@example.com", "ada@example.com"


def _seed(live_server: LiveServer) -> dict[str, str]:
    """Two accounts with a device enrolled a minute ago (their keys), one without a device."""
    clock = ManualClock(datetime.now(UTC) - timedelta(seconds=60))
    ctx = build_context(live_server.settings, clock=clock, mailer=MemoryMailer())
    keys = {}
    for email in (STEADY, LOCKED):
        keys[email] = enroll(ctx, clock, create_user(ctx, email, PASSWORD))
    create_user(ctx, NEW, PASSWORD)
    create_user(ctx, ADMIN, PASSWORD, admin=True)  # an administrator without a device
    reset = create_user(ctx, RESET, PASSWORD)
    with ctx.db.transaction() as tx:  # as an administrator's "reset 2FA" leaves the account
        users.set_two_factor_reset(tx, reset.id, clock.now())
    ctx.db.engine.dispose()
    return keys


def _password_step(page: Page, url: str, email: str) -> None:
    page.goto(f"{url}/login")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_sign_in_flows_tell_the_truth(
    live_server: LiveServer, browser: Browser, screenshots: Path
) -> None:
    oathtool = need_binary("oathtool")
    url = live_server.url
    keys = _seed(live_server)
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors = watch_errors(page)

    # The code just used signs in, and the first sensitive page asks for no second one.
    phone = Authenticator(oathtool, keys[STEADY])
    _password_step(page, url, STEADY)
    page.get_by_label("Authentication code").fill(phone.code())
    page.wait_for_url(f"{url}/account")
    page.goto(f"{url}/account/backup-codes")
    page.wait_for_url(f"{url}/account/backup-codes")
    expect(page.get_by_role("heading", name=re.compile("backup codes", re.I)).first).to_be_visible()
    shoot(page, screenshots, "flows-no-second-code")
    page.goto(f"{url}/account")
    page.get_by_role("button", name="Sign out", exact=True).click()

    # Wrong codes: fewer than three tries left are counted out; then the lock, told plainly.
    _password_step(page, url, LOCKED)
    for _ in range(3):
        with page.expect_navigation():  # a complete code submits itself
            page.get_by_label("Authentication code").fill("000000")
    expect(page.get_by_text(re.compile("2 tries left"))).to_be_visible()
    shoot(page, screenshots, "flows-2fa-tries-left")
    for _ in range(2):
        with page.expect_navigation():
            page.get_by_label("Authentication code").fill("000000")
    expect(page.locator(".lockout")).to_contain_text("It unlocks in")
    expect(page.get_by_label("Authentication code")).to_have_count(0)
    expect(page.locator(".lockout")).not_to_contain_text("expired")
    shoot(page, screenshots, "flows-2fa-locked")
    page.context.clear_cookies()

    # Enrolment: the key stays through a reload; the entry is previewed as the app shows it.
    _password_step(page, url, NEW)
    page.wait_for_url(f"{url}/account")
    page.get_by_role("link", name="Set up two-step verification").first.click()
    page.get_by_role("button", name="Continue").click()
    first_key = page.locator("[data-copy]").get_attribute("data-copy")
    expect(page.locator("[data-app-preview]")).to_contain_text(f"twostep: {NEW}")
    page.reload()
    assert page.locator("[data-copy]").get_attribute("data-copy") == first_key
    shoot(page, screenshots, "flows-enroll-same-key")
    page.get_by_label("Code from your app").fill("123")
    page.get_by_role("button", name="Verify and turn on").click()
    message = page.get_by_label("Code from your app").evaluate("e => e.validationMessage")
    assert "Enter all 6 digits" in message
    page.get_by_role("button", name="Start over with a new key").click()
    assert page.locator("[data-copy]").get_attribute("data-copy") != first_key
    page.context.clear_cookies()

    # After an administrator's reset, and for an administrator without a device: enrol first.
    for email, why, name in (
        (RESET, "An administrator reset two-step verification", "flows-enroll-after-reset"),
        (ADMIN, "Administrators need two-step verification", "flows-enroll-admin"),
    ):
        _password_step(page, url, email)
        page.wait_for_url(re.compile(r"/enroll"))
        expect(page.get_by_text(why)).to_be_visible()
        shoot(page, screenshots, name)
        page.context.clear_cookies()
    assert not errors, errors
    context.close()
