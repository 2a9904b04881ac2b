"""The admin console in a real Chromium against a real server.

An operator made with ``twostep users create --admin`` signs in with a code, reads the
overview, finds a user, steps up, and resets that user's 2FA; the user then signs in with
the password alone and enrolls a new authenticator. Thirty days of history are written
first through the services with a manual clock, so the charts have something to show.

TOTP runs on real time: the operator's enrollment is dated a minute back, so the sign-in
code needs no wait; the step-up needs the next 30-second step (one bounded wait).
"""

from __future__ import annotations

import csv
import io
import os
import random
import re
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.conftest import LiveServer
from tests.e2e.support import DESKTOP, PHONE, SEED_ORIGIN, enroll, shoot, sign_in, watch_errors
from tests.support.authenticator import Authenticator
from tests.support.tools import need_binary
from twostep.clock import ManualClock
from twostep.config import Settings
from twostep.errors import TwostepError
from twostep.mail import MemoryMailer
from twostep.services import step_up
from twostep.services.context import Context, build_context
from twostep.services.operations import create_user
from twostep.store import audit, users

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

OPERATOR = "ops@example.com"
OPERATOR_PASSWORD = "tidy operator passphrase 42"
GRACE = "grace@example.com"
GRACE_PASSWORD = "hopper compiler cobol 1959"


def seed_history(settings: Settings) -> tuple[str, str]:
    """Accounts over 40 days (most enroll), 48 hours of checks, a few lockouts, one locked now.

    Returns the base32 keys of Grace's and the operator's authenticators.
    """
    now = datetime.now(UTC)
    clock = ManualClock(now - timedelta(days=40))
    ctx = build_context(settings, clock=clock, mailer=MemoryMailer())
    pick = random.Random(5)  # the same history on every run
    people = []
    for i in range(34):
        clock.set(now - timedelta(days=40 - i * 1.15, hours=pick.randint(0, 8)))
        person = create_user(ctx, f"person{i:02d}@example.com", f"seeded passphrase {i} xyz")
        people.append(person)
        if i % 3 != 2 or i > 28:
            later = clock.now() + timedelta(days=pick.randint(1, 4) * (i % 2))
            clock.set(min(later, now - timedelta(hours=1)))
            enroll(ctx, clock, person)
    with ctx.db.transaction() as tx:
        for hours_back in range(48):
            at = now - timedelta(hours=hours_back, minutes=pick.randint(0, 50))
            busy = 3 if 7 <= at.hour <= 18 else 1
            for outcome, n in (("success", busy * pick.randint(2, 6)),
                               ("failure", pick.randint(0, busy)),
                               ("denied", 1 if pick.random() < 0.08 else 0)):  # fmt: skip
                for _ in range(n):
                    who = pick.choice(people).id
                    audit.record(tx, event="login.factor", outcome=outcome, at=at, user_id=who)
        for days_back in (1, 4, 4, 9, 17, 23):
            at = now - timedelta(days=days_back, hours=pick.randint(0, 12))
            audit.record(tx, event="account.locked", outcome="info", at=at, user_id=people[3].id)
    clock.set(now - timedelta(minutes=5))
    grace = create_user(ctx, GRACE, GRACE_PASSWORD)
    grace_key = enroll(ctx, clock, grace)
    clock.set(now - timedelta(seconds=60))
    operator = _operator(ctx)
    operator_key = enroll(ctx, clock, operator)
    clock.set(now)
    victim = sign_in(ctx, people[0])
    for _ in range(settings.lockout_threshold):
        try:
            step_up.step_up(ctx, victim, SEED_ORIGIN, code="000000")
        except TwostepError:
            pass
    ctx.db.engine.dispose()
    return grace_key, operator_key


def _operator(ctx: Context) -> users.User:
    with ctx.db.transaction(readonly=True) as tx:
        found = users.get_by_email(tx, OPERATOR)
    assert found is not None and found.role == "admin"
    return found


def create_operator(settings: Settings) -> None:
    """``twostep users create --admin``, exactly as the README says, on the server's data."""
    env = {
        **os.environ,
        "TWOSTEP_ENV": "development",
        "TWOSTEP_DATA_DIR": str(settings.data_dir),
        "TWOSTEP_PUBLIC_URL": settings.public_url,
    }
    result = subprocess.run(
        [sys.executable, "-m", "twostep", "users", "create", "--admin", "--password-stdin",
         OPERATOR],
        input=OPERATOR_PASSWORD + "\n", env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert f"created admin {OPERATOR}" in result.stdout


def test_an_operator_resets_a_users_2fa_and_the_user_enrolls_again(
    live_server: LiveServer, browser: Browser, screenshots: Path
) -> None:
    oathtool = need_binary("oathtool")
    url = live_server.url
    create_operator(live_server.settings)
    grace_key, operator_key = seed_history(live_server.settings)
    # The operator's enrollment consumed the step of a minute ago; the sign-in may use now.
    operator_phone = Authenticator(oathtool, operator_key, int((time.time() - 60) // 30))

    # The operator signs in with a password and a code, and lands on the overview.
    context = browser.new_context(viewport=DESKTOP, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors = watch_errors(page)
    page.goto(f"{url}/admin")
    page.wait_for_url(re.compile(r"/login\?next=/admin$"))
    page.get_by_label("Email address").fill(OPERATOR)
    page.get_by_label("Password").fill(OPERATOR_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_label("Authentication code").fill(operator_phone.code())
    page.wait_for_url(f"{url}/admin")
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    expect(page.locator(".stat-tiles")).to_contain_text("Locked out now")
    charts = page.locator("svg.chart[role=img]")
    expect(charts).to_have_count(3)
    expect(page.locator("svg.chart title").first).to_have_text(re.compile("Share of accounts"))
    shoot(page, screenshots, "admin-overview")
    shoot(page, screenshots, "admin-overview", dark=True)

    # Find Grace.
    page.get_by_role("navigation", name="Admin console").get_by_role("link", name="Users").click()
    page.get_by_label("Email contains").fill("grace")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url(re.compile(r"/admin/users\?q=grace&two_factor=&sort=created$"))
    rows = page.locator(".data-table tbody tr")
    expect(rows).to_have_count(1)
    page.get_by_label("Email contains").fill("")
    page.get_by_label("Two-step verification").select_option("enabled")
    page.get_by_role("button", name="Search").click()
    shoot(page, screenshots, "admin-users")
    page.get_by_label("Email contains").fill("grace")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name=GRACE).click()
    expect(page.get_by_role("heading", name=GRACE)).to_be_visible()
    expect(page.locator("#devices")).to_contain_text("Phone")
    expect(page.locator("#devices")).to_contain_text("10 of 10")
    shoot(page, screenshots, "admin-user")

    # Reset her 2FA: step up with a fresh code first, then confirm with the checkbox.
    # (A sign-in with a code counts as one for the elevation window: no step-up then.)
    page.get_by_role("link", name="Reset 2FA").click()
    page.wait_for_url(re.compile(r"/(step-up\?next=/)?admin/users/[0-9a-f-]+/reset-2fa$"))
    if "/step-up" in page.url:
        page.get_by_label("Authentication code").fill(operator_phone.code())
    expect(
        page.get_by_role("heading", name=f"Reset two-step verification for {GRACE}?")
    ).to_be_visible()
    shoot(page, screenshots, "admin-confirm")
    page.get_by_label(re.compile("I confirmed who is asking")).check()
    page.get_by_role("button", name="Reset two-step verification").click()
    expect(page.locator(".alert-success")).to_contain_text("Two-step verification was reset")
    expect(page.locator(".user-head")).to_contain_text("2FA off")
    live_server.mail(GRACE, "two_factor_reset_by_admin")

    # The audit log shows who did it; the export is a spreadsheet-safe download.
    page.goto(f"{url}/admin/audit?user={GRACE}")
    first = page.locator(".data-table tbody tr").first
    expect(first).to_contain_text("Admin: two-step verification reset")
    expect(first).to_contain_text(OPERATOR)
    shoot(page, screenshots, "admin-audit")
    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    assert download.value.suggested_filename.endswith(".csv")
    table = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text("utf-8"))))
    assert table[0]["event"] == "admin.two_factor_reset"
    assert {row["user_id"] for row in table} == {table[0]["user_id"]}
    assert not errors, errors
    context.close()

    # Grace signs in with her password alone, and sets up a new authenticator.
    old_key = grace_key
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors = watch_errors(page)
    page.goto(f"{url}/login")
    page.get_by_label("Email address").fill(GRACE)
    page.get_by_label("Password").fill(GRACE_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    # After an administrator's reset, her next sign-in leads straight to enrolment.
    page.wait_for_url(re.compile(r"/enroll"))
    page.get_by_label("Name this device").fill("New phone")
    page.get_by_role("button", name="Continue").click()
    new_key = page.locator("[data-secret]").inner_text().replace(" ", "")
    assert new_key != old_key
    page.get_by_label("Code from your app").fill(Authenticator(oathtool, new_key).code())
    expect(page.get_by_role("heading", name="Save your backup codes")).to_be_visible()
    page.get_by_label("I have saved these backup codes somewhere safe").check()
    page.get_by_role("button", name="Continue").click()
    expect(page.locator(".alert-success")).to_contain_text("Two-step verification is on")
    assert not errors, errors
    context.close()
