"""Security keys, passkeys and "remember this browser" in a real Chromium.

Chromium's own WebAuthn stack answers the ceremonies through a CDP virtual authenticator
(CTAP2, internal transport, resident keys, user verification), so the page's script, the
browser and the server meet exactly as with Touch ID or Windows Hello. The server is
reached as ``http://localhost:PORT``, a secure context whose host can be the RP id.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.e2e.conftest import LiveServer
from tests.e2e.support import DESKTOP, shoot, watch_errors
from twostep.clock import SystemClock
from twostep.mail import MemoryMailer
from twostep.services.context import build_context
from twostep.services.operations import create_user

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

EMAIL = "grace@example.com"
PASSWORD = "cobol compiler flowmatic 1959"


def virtual_authenticator(context: BrowserContext, page: Page) -> None:
    """A platform authenticator with resident keys that verifies its user (like Touch ID)."""
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable", {"enableUI": False})
    cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )


# Chromium's virtual authenticator answers a conditional (autofill) request at once, where a
# person would first pick the passkey in the email field's suggestions. So autofill is off
# in this tab until the journey turns it on to show that it signs in.
AUTOFILL_SWITCH = """
if (sessionStorage.getItem("autofill") !== "on" && window.PublicKeyCredential) {
  PublicKeyCredential.isConditionalMediationAvailable = async () => false;
}
"""


def password_step(page: Page, url: str) -> None:
    page.goto(f"{url}/login")
    page.get_by_label("Email address").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()


def sign_out(page: Page, url: str) -> None:
    page.goto(f"{url}/logout")
    page.get_by_role("button", name="Sign out").last.click()
    expect(page).to_have_url(re.compile(r"/login\?notice=signed-out"))


def test_passkey_and_remembered_browser_journey(
    localhost_server: LiveServer, browser: Browser, screenshots: Path
) -> None:
    url = localhost_server.url
    ctx = build_context(localhost_server.settings, clock=SystemClock(), mailer=MemoryMailer())
    create_user(ctx, EMAIL, PASSWORD)
    context = browser.new_context(viewport=DESKTOP, reduced_motion="reduce")
    context.add_init_script(AUTOFILL_SWITCH)
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors = watch_errors(page)
    virtual_authenticator(context, page)

    # No second factor yet: the password signs in; add a passkey from the account page.
    password_step(page, url)
    page.goto(f"{url}/account")
    page.get_by_role("link", name="Add a security key or passkey").first.click()
    page.get_by_label("Name").fill("Laptop passkey")
    page.get_by_role("button", name="Add security key").click()
    expect(page.locator("#backup-codes")).to_be_visible()  # the first factor: codes, once
    page.get_by_label("I have saved these backup codes somewhere safe").check()
    page.get_by_role("button", name="Continue").click()
    expect(page.locator("#devices")).to_contain_text("Laptop passkey")
    expect(page.locator("#devices")).to_contain_text("Security key")

    # Sign out, then sign in with the passkey alone: no password, no code.
    sign_out(page, url)
    expect(page.get_by_role("button", name="Sign in with a passkey")).to_be_visible()
    shoot(page, screenshots, "sign-in-passkey")
    page.get_by_role("button", name="Sign in with a passkey").click()
    expect(page).to_have_url(re.compile(r"/account"))
    expect(page.locator("h1")).to_have_text("Account security")

    # Step up with the passkey.
    page.goto(f"{url}/step-up?next=/account/backup-codes")
    shoot(page, screenshots, "step-up-security-key")
    page.get_by_role("button", name="Use your security key").click()
    # Anchored: the step-up page's own address carries ``next=/account/backup-codes``.
    expect(page).to_have_url(re.compile(r"/account/backup-codes$"))
    expect(page.locator("h1")).to_have_text("Make new backup codes?")

    # Password, then the key at the code step, ticking "don't ask on this browser".
    sign_out(page, url)
    password_step(page, url)
    expect(page).to_have_url(re.compile(r"/login/2fa"))
    shoot(page, screenshots, "two-factor-security-key")
    page.locator("#key-2fa").get_by_label(re.compile("Don't ask for a code")).check()
    page.get_by_role("button", name="Use your security key").click()
    expect(page).to_have_url(re.compile(r"/account"))

    # Remembered: the password alone signs in, and the browser is listed.
    sign_out(page, url)
    password_step(page, url)
    expect(page).to_have_url(re.compile(r"/account"))
    expect(page.locator("#browsers")).to_contain_text("Chrom")
    shoot(page, screenshots, "account-passkey-remembered-browser")

    # Forget the browser: the next sign-in asks for the second step again.
    page.locator("#browsers").get_by_role("button", name="Forget all browsers").click()
    expect(page.locator("#browsers")).to_have_count(0)
    sign_out(page, url)
    password_step(page, url)
    expect(page).to_have_url(re.compile(r"/login/2fa"))

    # Finish with the key. Then the passkey offered in the email field's autofill signs in.
    page.get_by_role("button", name="Use your security key").click()
    expect(page).to_have_url(re.compile(r"/account"))
    sign_out(page, url)
    page.evaluate("sessionStorage.setItem('autofill', 'on')")
    page.goto(f"{url}/login")
    expect(page).to_have_url(re.compile(r"/account"))

    # Remove the key: two-step verification is off again.
    page.locator("#devices").get_by_role("link", name=re.compile("Remove")).click()
    expect(page.locator("h1")).to_contain_text("Laptop passkey")
    page.get_by_role("button", name="Remove").click()
    expect(page).to_have_url(re.compile(r"notice=two-factor-off"))
    expect(page.locator("#devices")).to_have_count(0)
    assert errors == []
    context.close()
