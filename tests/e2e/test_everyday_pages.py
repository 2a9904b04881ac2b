"""Everyday pages in a real Chromium: backup codes to keep, the account security page, the
email change, recent activity, error pages that keep the header, and the admin console.

TOTP runs on real time; the user's enrolment takes one code, a step-up at most one more
(one bounded wait). The administrator's device is enrolled a minute back through the
services, so their sign-in code needs no wait.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import unquote

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

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

EMAIL = "lin@example.com"
NEW_EMAIL = "lin.new@example.org"
PASSWORD = "quiet harbour lantern 7"
ADMIN = "chief@example.com"
ADMIN_PASSWORD = "steady console keeper 9"


def _seed(live_server: LiveServer) -> str:
    """Lin, verified, without a device; an administrator enrolled a minute ago (their key)."""
    now = datetime.now(UTC)
    clock = ManualClock(now - timedelta(seconds=60))
    ctx = build_context(live_server.settings, clock=clock, mailer=MemoryMailer())
    create_user(ctx, EMAIL, PASSWORD)
    admin = create_user(ctx, ADMIN, ADMIN_PASSWORD, admin=True)
    key = enroll(ctx, clock, admin)
    ctx.db.engine.dispose()
    return key


def _key_on(page: Page) -> str:
    value = page.locator("[data-copy]").get_attribute("data-copy")
    assert value
    return value


def _user_pages(page: Page, url: str, live_server: LiveServer, shots: Path, phone: str) -> None:
    page.goto(f"{url}/login")
    page.get_by_label("Email address").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{url}/account")
    page.get_by_role("link", name="Set up two-step verification").first.click()
    page.get_by_role("button", name="Continue").click()
    authenticator = Authenticator(phone, _key_on(page))
    page.get_by_label("Code from your app").fill(authenticator.code())
    expect(page.get_by_role("heading", name="Save your backup codes")).to_be_visible()

    # Backup codes: whose, which service, which day, in the page and in the download.
    today = page.evaluate("new Date().toLocaleDateString(undefined, {dateStyle: 'long'})")
    meta = page.locator("#backup-codes-meta")
    expect(meta).to_contain_text(f"twostep backup codes for {EMAIL} · made {today}")
    link = page.get_by_role("link", name="Download .txt")
    href = link.get_attribute("href") or ""
    text = unquote(href.partition(",")[2])
    assert text.startswith(f"twostep backup codes\nAccount: {EMAIL}\nMade: {today} (")
    assert re.search(r"-\d{4}-\d\d-\d\d\.txt$", link.get_attribute("download") or "")
    shoot(page, shots, "everyday-backup-codes")
    page.emulate_media(media="print")
    page.screenshot(path=str(shots / "everyday-backup-codes-print.png"), full_page=True)
    page.emulate_media(media="screen")
    page.get_by_label("I have saved these backup codes somewhere safe").check()
    page.get_by_role("button", name="Continue").click()

    # The account page: this browser first with its summary, and recent activity by name.
    expect(page.locator("#sessions")).to_contain_text("Chrome")
    expect(page.locator("#sessions")).to_contain_text("Active now")
    expect(page.locator("#activity")).to_contain_text("Authenticator app added")
    shoot(page, shots, "everyday-account")
    page.get_by_role("link", name="See all recent activity").click()
    expect(page.get_by_role("heading", name="Recent security activity")).to_be_visible()
    expect(page.locator(".activity-list")).to_contain_text("Sign-in: password")
    shoot(page, shots, "everyday-activity")

    # The email change: a code to the new address, then the notice.
    page.goto(f"{url}/account/email")
    if "/step-up" in page.url:
        page.get_by_label("Authentication code").fill(authenticator.code())
    page.get_by_label("New email address").fill(NEW_EMAIL)
    shoot(page, shots, "everyday-email-change")
    page.get_by_role("button", name="Send a code").click()
    expect(page.get_by_text(f"We sent a 6-digit code to {NEW_EMAIL}")).to_be_visible()
    page.get_by_label("Code from the email").fill("000000")
    page.get_by_role("button", name="Change email address").click()
    expect(page.locator(".alert-error")).to_contain_text("Check the code in the email")
    shoot(page, shots, "everyday-email-code")
    mail = live_server.mail(NEW_EMAIL, "email_change_code")
    found = re.search(r"\b(\d{6})\b", mail.text)
    assert found is not None
    page.get_by_label("Code from the email").fill(found.group(1))
    page.wait_for_url(f"{url}/account?notice=email-changed")
    expect(page.locator(".alert-success")).to_contain_text("Your email address was changed")
    shoot(page, shots, "everyday-email-changed")

    # The same password as the new one is refused in words.
    page.goto(f"{url}/account/password")
    page.get_by_label("Current password").fill(PASSWORD)
    page.get_by_label("New password").fill(PASSWORD)
    page.get_by_role("button", name="Change password").click()
    expect(page.locator(".alert-error")).to_contain_text("That is your current password")
    shoot(page, shots, "everyday-password-same")

    # A missing page keeps the header and offers the account.
    page.goto(f"{url}/no-such-page")
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    expect(page.locator(".site-nav")).to_contain_text(NEW_EMAIL)
    expect(page.get_by_role("link", name="Back to your account")).to_be_visible()
    shoot(page, shots, "everyday-404-signed-in")


def _admin_pages(page: Page, url: str, shots: Path, admin_phone: Authenticator) -> None:
    page.goto(f"{url}/login")
    page.get_by_label("Email address").fill(ADMIN)
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_label("Authentication code").fill(admin_phone.code())
    page.wait_for_url(f"{url}/account")
    page.goto(f"{url}/admin")
    expect(page.locator("svg.chart").first).to_be_visible()
    expect(page.locator(".chart-summary").first).to_contain_text("the first account")
    shoot(page, shots, "everyday-admin-overview")

    page.goto(f"{url}/admin/users?sort=last_sign_in")
    expect(page.locator("thead")).to_contain_text("Last sign-in")
    expect(page.locator("tbody tr").first).to_contain_text(ADMIN)
    expect(page.locator("tbody")).to_contain_text("UTC")
    shoot(page, shots, "everyday-admin-users")

    page.goto(f"{url}/admin/audit")
    expect(page.locator(".lead")).to_contain_text("All times are UTC")
    expect(page.locator("tbody")).to_contain_text("Sign-in: second factor")
    expect(page.locator("tbody")).not_to_contain_text("login.factor")
    shoot(page, shots, "everyday-admin-audit")

    page.goto(f"{url}/admin/users/00000000-0000-4000-8000-000000000000")
    expect(page.get_by_role("link", name="Back to the user list")).to_be_visible()
    shoot(page, shots, "everyday-admin-404")


def test_everyday_pages_in_a_browser(
    live_server: LiveServer, browser: Browser, screenshots: Path
) -> None:
    oathtool = need_binary("oathtool")
    url = live_server.url
    admin_key = _seed(live_server)
    admin_phone = Authenticator(oathtool, admin_key, int((time.time() - 60) // 30))

    context = browser.new_context(viewport=DESKTOP, accept_downloads=True, reduced_motion="reduce")
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors = watch_errors(page)
    _user_pages(page, url, live_server, screenshots, oathtool)
    context.close()

    admin_context = browser.new_context(viewport=DESKTOP, reduced_motion="reduce")
    admin_page = admin_context.new_page()
    admin_page.set_default_timeout(15_000)
    errors += watch_errors(admin_page)
    _admin_pages(admin_page, url, screenshots, admin_phone)
    admin_context.close()
    assert errors == []
