"""The whole life of an account, in a real Chromium against a real server.

TOTP runs on real time here. A code is accepted once per 30-second step, so before each
authenticator code the test waits, if needed, for a step after the last one it used
(:class:`Authenticator`); the journey needs four codes and so at most three such waits.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import LiveServer
from tests.e2e.support import DESKTOP, shoot
from tests.support.authenticator import Authenticator
from tests.support.tools import need_binary

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

EMAIL = "ada@example.com"
PASSWORD = "lovelace analytical engine 1843"
NEW_PASSWORD = "difference engine number two"


class Shots:
    """Screenshots of each main page at phone and desktop width."""

    def __init__(self, page: Page, folder: Path) -> None:
        self.page = page
        self.folder = folder

    def take(self, name: str, *, dark: bool = False) -> None:
        shoot(self.page, self.folder, name, dark=dark)


def _backup_codes(page: Page) -> list[str]:
    return [code.strip() for code in page.locator("#backup-codes code").all_inner_texts()]


def _open_mail(
    page: Page, server: LiveServer, tag: str, link: str, shots: Shots | None = None
) -> None:
    """Open the newest ``tag`` mail in the dev mailbox and follow its ``link`` link."""
    page.goto(f"{server.url}/dev/mailbox")
    if shots is not None:
        shots.take("mailbox")
    page.locator(".row", has=page.locator(".tag", has_text=tag)).first.locator("a").click()
    if shots is not None:
        shots.take("mailbox-message")
    page.locator(f".mail-body a[href*='{link}']").click()


def test_account_life_in_a_browser(
    live_server: LiveServer, browser: Browser, screenshots: Path
) -> None:
    oathtool = need_binary("oathtool")
    url = live_server.url
    context = browser.new_context(viewport=DESKTOP, accept_downloads=True, reduced_motion="reduce")
    page = context.new_page()
    page.set_default_timeout(15_000)
    shots = Shots(page, screenshots)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on(  # CSP violations and script errors; a 401/422 page is expected, not an error
        "console",
        lambda m: (
            errors.append(m.text)
            if m.type == "error" and not m.text.startswith("Failed to load resource")
            else None
        ),
    )

    # Register, with live password advice, then confirm the address from the dev mailbox.
    page.goto(url)
    expect(page.locator(".dev-banner")).to_contain_text("Development mode")
    shots.take("home")
    page.get_by_role("link", name="Create an account").click()
    page.get_by_label("Email address").fill(EMAIL)
    page.get_by_label("Password").fill("password")
    expect(page.locator(".advice")).to_contain_text("too common")
    page.get_by_label("Password").fill(PASSWORD)
    expect(page.locator(".advice")).to_contain_text("Strong")
    shots.take("register")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name="Check your inbox")).to_be_visible()
    shots.take("verify-email")
    live_server.mail(EMAIL, "email_verification")
    _open_mail(page, live_server, "email_verification", "/verify-email?token=")
    # Not signed in: the link asks for the password, so only its holder binds the address.
    expect(page.get_by_text("Reset the password")).to_be_visible()
    page.get_by_label("Your password").fill(PASSWORD)
    shots.take("verify-email-password")
    page.get_by_role("button", name="Confirm email").click()
    expect(page.locator(".alert-success")).to_contain_text("email address is confirmed")
    shots.take("login")

    # Sign in with the password: no device yet, so on to the enrollment.
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{url}/account")
    page.get_by_role("link", name="Set up two-step verification").click()
    shots.take("enroll-start")
    page.get_by_label("Name this device").fill("Pixel 9")
    page.get_by_role("button", name="Continue").click()
    for app in ("Google Authenticator", "Microsoft Authenticator", "Authy", "1Password"):
        expect(page.locator(".app-list")).to_contain_text(app)
    expect(page.locator("a[href^='otpauth://totp/']")).to_be_attached()  # shown on phones
    grouped = page.locator("[data-secret]").inner_text()
    assert re.fullmatch(r"([A-Z2-7]{4} )*[A-Z2-7]{1,4}", grouped), grouped
    phone = Authenticator(oathtool, grouped.replace(" ", ""))
    page.get_by_role("button", name="Copy key").click()
    expect(page.locator("[data-copy-status]")).to_contain_text("Copied")
    shots.take("enroll-qr")
    shots.take("enroll-qr", dark=True)
    code = phone.code()
    page.get_by_label("Code from your app").fill(f"{code[:3]} {code[3:]}")  # submits itself

    # The backup codes: shown once, downloadable, and "I saved them" before going on.
    expect(page.get_by_role("heading", name="Save your backup codes")).to_be_visible()
    codes = _backup_codes(page)
    assert len(codes) == 10
    with page.expect_download() as download:
        page.get_by_role("link", name="Download .txt").click()
    saved = Path(download.value.path()).read_text(encoding="utf-8")
    assert all(c in saved for c in codes)
    assert saved.startswith(f"twostep backup codes\nAccount: {EMAIL}\nMade: ")
    expect(page.get_by_role("button", name="Print")).to_be_visible()
    shots.take("backup-codes")
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(re.compile(r"/enroll/confirm$"))  # the checkbox is required
    page.get_by_label("I have saved these backup codes somewhere safe").check()
    page.get_by_role("button", name="Continue").click()
    expect(page.locator(".alert-success")).to_contain_text("Two-step verification is on")

    # Sign out, sign in again with the password and a code.
    page.get_by_role("button", name="Sign out").click()
    expect(page.locator(".alert-success")).to_contain_text("signed out")
    page.get_by_label("Email address").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".countdown")).to_contain_text(re.compile(r"expires in [0-4]:\d\d"))
    expect(page.get_by_label("Authentication code")).to_be_focused()
    shots.take("login-2fa")
    page.get_by_label("Authentication code").fill("000000")
    expect(page.locator("#form-error")).to_contain_text("code is not right")
    shots.take("login-2fa-error")
    page.get_by_label("Authentication code").fill(phone.code())
    page.wait_for_url(f"{url}/account")
    expect(page.locator("#devices")).to_contain_text("Pixel 9")
    expect(page.locator("#backup")).to_contain_text("10 of 10 left")
    shots.take("account")
    shots.take("account", dark=True)

    # Step up, then make new backup codes.
    # (A sign-in with a code counts as a step-up for its window: then none is asked.)
    page.get_by_role("link", name="Make new backup codes").first.click()
    page.wait_for_url(re.compile(r"/(step-up\?next=/)?account/backup-codes$"))
    if "/step-up" in page.url:
        shots.take("step-up")
        page.get_by_label("Authentication code").fill(phone.code())
        page.wait_for_url(f"{url}/account/backup-codes")
    shots.take("confirm-regenerate")
    page.get_by_role("button", name="Make new codes").click()
    fresh = _backup_codes(page)
    assert len(fresh) == 10 and not set(fresh) & set(codes)
    page.get_by_label("I have saved these backup codes somewhere safe").check()
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(re.compile(r"/account\?notice=codes-saved"))

    # Sign out; sign in with one of the new backup codes.
    page.get_by_role("button", name="Sign out").click()
    page.get_by_label("Email address").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Use a backup code instead").click()
    page.get_by_label("Backup code").fill(fresh[0].lower())
    shots.take("login-backup")
    page.get_by_role("button", name="Verify").click()
    page.wait_for_url(f"{url}/account?notice=backup-used")
    expect(page.locator(".alert-success, .alert-info").first).to_contain_text("9 backup codes left")
    shots.take("login-backup-used")
    expect(page.locator("#backup")).to_contain_text("9 of 10 left")
    page.get_by_role("button", name="Sign out").click()

    # Forgot the password: the emailed link plus an authenticator code.
    page.get_by_role("link", name="Forgot your password?").click()
    shots.take("forgot")
    sent_before = live_server.count(EMAIL, "password_reset")
    page.get_by_label("Email address").fill(EMAIL)
    page.get_by_role("button", name="Send reset link").click()
    expect(page.get_by_role("heading", name="Check your inbox")).to_be_visible()
    shots.take("forgot-sent")
    live_server.mail(EMAIL, "password_reset", after=sent_before)
    _open_mail(page, live_server, "password_reset", "/reset-password?token=", shots)
    expect(page.get_by_role("heading", name="Choose a new password")).to_be_visible()
    page.get_by_label("New password").fill(NEW_PASSWORD)
    expect(page.locator(".advice")).to_contain_text("Strong")
    shots.take("reset")
    page.get_by_label("Authentication code").fill(phone.code())
    page.get_by_role("button", name="Set new password").click()
    # A reset with the link and a code signs the owner in, on the account page.
    expect(page.locator(".alert-success")).to_contain_text("You're signed in")
    expect(page.get_by_role("heading", name="Account security")).to_be_visible()

    assert phone.waits <= 3
    assert not errors, errors
    context.close()
