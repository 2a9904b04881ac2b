"""The account security page: sessions, the email change, recent activity, the password."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from tests.web.pages.conftest import EMAIL, PASSWORD, Site
from twostep.mail import MemoryMailer
from twostep.web.pages.activity import place

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:126.0) Gecko/20100101 Firefox/126.0"
SAFARI_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)
NEW_EMAIL = "robin.new@example.org"


def _step_up(site: Site, next_url: str) -> None:
    stepped = site.submit("/step-up", {"code": site.code(), "next": next_url}, form_page="/step-up")
    assert stepped.headers["location"] == next_url
    site.next_step()


def test_sessions_show_browser_place_and_last_activity_and_mark_this_one(site: Site) -> None:
    site.client.headers["user-agent"] = FIREFOX
    site.signed_up()
    phone = site.other_browser()
    phone.client.headers["user-agent"] = SAFARI_IPHONE
    phone.login()
    phone.submit("/login/2fa", {"code": phone.code()}, form_page="/login/2fa")
    site.clock.advance(3600)
    phone.client.get("/account")  # the phone is used an hour later

    page = site.client.get("/account").text
    sessions = page[page.index('id="h-sessions"') : page.index('id="h-activity"')]
    assert "Firefox on Linux" in sessions and "Safari on iOS" in sessions
    assert sessions.index("Firefox on Linux") < sessions.index("This browser")
    assert sessions.index("This browser") < sessions.index("Safari on iOS")
    assert "Active now" in sessions
    assert "Last active <time" in sessions and "from testclient" not in sessions
    assert "signed in <time" in sessions


def test_the_email_change_has_its_page(site: Site) -> None:
    site.signed_up()
    assert site.get("/account/email").headers["location"] == "/step-up?next=/account/email"
    _step_up(site, "/account/email")
    asked = site.submit("/account/email", {"new_email": NEW_EMAIL}, form_page="/account/email")
    assert (
        asked.status_code == 200 and f"We sent a 6-digit code to <strong>{NEW_EMAIL}" in asked.text
    )
    assert isinstance(site.mailer, MemoryMailer)
    code = re.search(r"\b(\d{6})\b", site.mailer.to(NEW_EMAIL)[-1].text)
    assert code is not None

    wrong = site.submit(
        "/account/email/confirm", {"new_email": NEW_EMAIL, "code": "000000"},
        form_page="/account",
    )  # fmt: skip
    assert wrong.status_code == 401
    assert f"Check the code in the email we sent to {NEW_EMAIL}" in wrong.text
    done = site.submit(
        "/account/email/confirm", {"new_email": NEW_EMAIL, "code": code.group(1)},
        form_page="/account",
    )  # fmt: skip
    assert done.headers["location"] == "/account?notice=email-changed"
    page = site.client.get("/account?notice=email-changed").text
    assert "Your email address was changed" in page and NEW_EMAIL in page
    assert any("changed" in m.subject.lower() for m in site.mailer.to(EMAIL))


def test_recent_activity_lists_the_users_own_events_by_name(site: Site) -> None:
    site.signed_up()
    other = site.other_browser()
    other.register("someone.else@example.com")
    other.login("someone.else@example.com", "wrong password entirely")

    page = site.client.get("/account").text
    listed = page[page.index('id="h-activity"') :]
    assert "Authenticator app added" in listed and "Sign-in: password" in listed
    assert "login.password" not in listed and "device.confirm" not in listed
    full = site.client.get("/account/activity")
    assert full.status_code == 200
    assert "Account created" in full.text and "Email address confirmed" in full.text
    assert "someone.else" not in full.text and "Failed" not in full.text


def test_a_password_change_refuses_the_current_password(site: Site) -> None:
    site.signed_up()
    _step_up(site, "/account/password")
    same = site.submit(
        "/account/password", {"current_password": PASSWORD, "new_password": PASSWORD},
        form_page="/account/password",
    )  # fmt: skip
    assert same.status_code == 422
    assert "That is your current password" in same.text


def test_activity_needs_a_full_session(site: Site) -> None:
    anonymous = TestClient(site.client.app, base_url=str(site.client.base_url))
    reply = anonymous.get("/account/activity", follow_redirects=False)
    assert reply.headers["location"] == "/login?next=/account/activity"


@pytest.mark.parametrize(
    ("ip", "shown"),
    [
        ("127.0.0.1", "this computer (127.0.0.1)"),
        ("::1", "this computer (::1)"),
        ("192.168.1.20", "a local network (192.168.1.20)"),
        ("9.9.9.9", "9.9.9.9"),
        ("evil.example", None),
        (None, None),
    ],
)
def test_an_address_is_placed_as_far_as_we_can_tell(ip: str | None, shown: str | None) -> None:
    assert place(ip) == shown
