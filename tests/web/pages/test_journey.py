"""Every user flow through the pages, as a browser without JavaScript would drive it."""

from __future__ import annotations

import re

from tests.web.pages.conftest import BACKUP, EMAIL, PASSWORD, Site

NEW_PASSWORD = "a quite different passphrase"
CODE = r"\b(\d{6})\b"


def test_register_verify_enroll_and_sign_in_with_a_code(site: Site) -> None:
    site.register()
    page = site.client.get(f"/verify-email?email={EMAIL}&sent=1")
    assert EMAIL in page.text and "Check your inbox" in page.text
    verified = site.submit(
        "/verify-email", {"email": EMAIL, "code": site.mailed(CODE), "password": PASSWORD}
    )
    assert verified.headers["location"].startswith("/login?notice=verified")

    assert site.login().headers["location"] == "/account"
    codes = site.enroll()
    assert len(codes) == 10
    account = site.client.get("/account")
    assert "Phone" in account.text and "10 of 10 left" in account.text

    assert site.submit("/logout", {}).headers["location"] == "/login?notice=signed-out"
    assert site.get("/account").headers["location"] == "/login?next=/account"

    challenge = site.login()
    assert challenge.headers["location"] == "/login/2fa"
    page = site.client.get("/login/2fa")
    assert "This sign-in expires in" in page.text and 'autocomplete="one-time-code"' in page.text
    spaced = site.code()[:3] + " " + site.code()[3:]
    done = site.submit("/login/2fa", {"code": spaced}, form_page="/login/2fa")
    assert done.headers["location"] == "/account"
    assert site.get("/account").status_code == 200


def test_verify_with_the_emailed_link(site: Site) -> None:
    site.register()
    link = site.mailed(r"(https://\S+/verify-email\?token=(\S+))")
    token = link.rsplit("token=", 1)[1]
    asked = site.get(link.replace("https://auth.example.test", ""))
    assert asked.status_code == 200 and 'name="password"' in asked.text and EMAIL in asked.text
    assert "Reset the password" in asked.text
    wrong = site.submit("/verify-email", {"token": token, "password": "not it"})
    assert wrong.status_code == 422 and 'name="password"' in wrong.text
    reply = site.submit("/verify-email", {"token": token, "password": PASSWORD})
    assert reply.status_code == 303
    assert reply.headers["location"].startswith("/login?notice=verified")
    again = site.get(link.replace("https://auth.example.test", ""))
    assert again.status_code == 400 and "already used or has expired" in again.text


def test_a_signed_in_registrant_verifies_by_the_link_at_once(site: Site) -> None:
    site.register()
    assert site.login().headers["location"] == "/account"
    assert site.get("/enroll").headers["location"] == "/verify-email?notice=verify-first"
    asked = site.client.get("/verify-email?notice=verify-first")
    assert "before you set up two-step verification" in asked.text and EMAIL in asked.text
    link = site.mailed(r"(https://\S+/verify-email\?token=\S+)")
    reply = site.get(link.replace("https://auth.example.test", ""))
    assert reply.status_code == 303 and reply.headers["location"].startswith("/account")
    assert site.get("/enroll").status_code == 200


def test_step_up_then_regenerate_then_sign_in_with_a_backup_code(site: Site) -> None:
    old_codes = site.signed_up()
    asked = site.get("/account/backup-codes")
    assert asked.headers["location"] == "/step-up?next=/account/backup-codes"
    wrong = site.submit(
        "/step-up", {"code": "000000", "next": "/account/backup-codes"}, form_page="/step-up"
    )
    assert wrong.status_code == 401 and "authenticator code is not right" in wrong.text
    stepped = site.submit(
        "/step-up", {"code": site.code(), "next": "/account/backup-codes"}, form_page="/step-up"
    )
    assert stepped.headers["location"] == "/account/backup-codes"
    assert "Make new backup codes?" in site.client.get("/account/backup-codes").text
    fresh = site.submit("/account/backup-codes", {}, form_page="/account/backup-codes")
    new_codes = BACKUP.findall(fresh.text)
    assert len(new_codes) == 10 and not set(new_codes) & set(old_codes)
    assert "data:text/plain;charset=utf-8," in fresh.text

    site.submit("/logout", {})
    assert site.login().headers["location"] == "/login/2fa"
    stale = site.submit(
        "/login/2fa", {"method": "backup", "backup_code": old_codes[0]}, form_page="/login/2fa"
    )
    assert stale.status_code == 401
    done = site.submit(
        "/login/2fa", {"method": "backup", "backup_code": new_codes[0].lower()},
        form_page="/login/2fa",
    )  # fmt: skip
    assert done.headers["location"] == "/account?notice=backup-used"
    assert "9 of 10 left" in site.client.get("/account").text


def test_forgot_and_reset_with_link_and_code(site: Site) -> None:
    site.signed_up()
    site.submit("/logout", {})
    sent = site.submit("/forgot-password", {"email": EMAIL})
    assert sent.status_code == 200 and "If an account exists" in sent.text
    unknown = site.submit("/forgot-password", {"email": "nobody@example.com"})
    assert unknown.status_code == 200 and "If an account exists" in unknown.text

    link = site.mailed(r"https://auth\.example\.test(/reset-password\?token=\S+)")
    page = site.client.get(link)
    assert "authenticator" in page.text and 'name="code"' in page.text
    token = re.search(r"token=(\S+)", link)
    assert token is not None
    fields = {"token": token.group(1), "password": NEW_PASSWORD}
    missing = site.submit("/reset-password", fields, form_page=link)
    assert missing.status_code == 422
    short = site.submit("/reset-password", {**fields, "code": "12345"}, form_page=link)
    assert short.status_code == 422 and "Enter all 6 digits" in short.text
    wrong = site.submit("/reset-password", {**fields, "code": "000000"}, form_page=link)
    assert wrong.status_code == 401 and "authenticator code is not right" in wrong.text
    done = site.submit("/reset-password", {**fields, "code": site.code()}, form_page=link)
    # link + code: signed in at once, and elevated (no second code for a sensitive change)
    assert done.headers["location"] == "/account?notice=password-reset-in"
    assert "You&#39;re signed in" in site.client.get("/account?notice=password-reset-in").text
    assert site.get("/account/backup-codes").status_code == 200
    used = site.client.get(link)
    assert used.status_code == 400 and "Ask for a new link" in used.text
    site.submit("/logout", {})
    site.next_step()
    assert site.login(password=NEW_PASSWORD).headers["location"] == "/login/2fa"


def test_change_password_and_disable_two_factor(site: Site) -> None:
    site.signed_up()
    assert site.get("/account/password").headers["location"].startswith("/step-up")
    site.submit(
        "/step-up", {"code": site.code(), "next": "/account/password"}, form_page="/step-up"
    )
    wrong = site.submit(
        "/account/password",
        {"current_password": "nope nope nope", "new_password": NEW_PASSWORD},
        form_page="/account/password",
    )
    assert wrong.status_code == 422 and "current password is incorrect" in wrong.text
    done = site.submit(
        "/account/password",
        {"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        form_page="/account/password",
    )
    assert done.headers["location"] == "/account?notice=password-changed"

    off = site.submit("/account/two-factor/disable", {}, form_page="/account/two-factor/disable")
    assert off.headers["location"] == "/account?notice=two-factor-off"
    assert "Set up two-step verification" in site.client.get("/account").text


def test_email_code_sign_in_still_asks_for_the_second_factor(site: Site) -> None:
    site.signed_up()
    site.submit("/logout", {})
    asked = site.submit("/login/email", {"email": EMAIL})
    assert asked.status_code == 200 and "is on its way" in asked.text
    reply = site.submit("/login/email/code", {"email": EMAIL, "code": site.mailed(CODE)})
    assert reply.headers["location"] == "/login/2fa"


def test_devices_rename_add_and_remove(site: Site) -> None:
    site.signed_up()
    device = re.search(r"/account/devices/([^/]+)/rename", site.client.get("/account").text)
    assert device is not None
    renamed = site.submit(f"/account/devices/{device.group(1)}/rename", {"name": "Work phone"})
    assert renamed.headers["location"].startswith("/account?notice=device-renamed")
    assert "Work phone" in site.client.get("/account").text
    assert site.get("/enroll").headers["location"] == "/step-up?next=/enroll"
    site.submit("/step-up", {"code": site.code(), "next": "/enroll"}, form_page="/step-up")
    removed = site.submit(f"/account/devices/{device.group(1)}/remove", {}, form_page="/account")
    assert removed.headers["location"] == "/account?notice=two-factor-off"


def test_sessions_sign_out_one_or_all_others(site: Site) -> None:
    site.signed_up()
    laptop, tablet = site.other_browser(), site.other_browser()
    for browser in (laptop, tablet):
        assert browser.login().headers["location"] == "/login/2fa"
        signed = browser.submit("/login/2fa", {"code": site.code()}, form_page="/login/2fa")
        assert signed.headers["location"] == "/account"
        site.next_step()
    page = site.client.get("/account").text
    assert page.count("/revoke") == 3 and "This browser" in page
    ids = re.findall(r"/account/sessions/([0-9a-f-]{36})/revoke", page)
    one = site.submit(f"/account/sessions/{ids[0]}/revoke", {}, form_page="/account")
    assert one.headers["location"].startswith("/account?notice=session-revoked")
    still = [b.get("/account").status_code for b in (laptop, tablet)]
    assert sorted(still) == [200, 303]
    everyone = site.submit("/account/sessions/revoke-others", {}, form_page="/account")
    assert everyone.headers["location"].startswith("/account?notice=sessions-revoked")
    for browser in (laptop, tablet):
        assert browser.get("/account").headers["location"] == "/login?next=/account"
    assert site.get("/account").status_code == 200


def test_a_new_user_is_not_welcomed_back(site: Site) -> None:
    fresh = site.client.get("/login?notice=verified&email=" + EMAIL).text
    assert "Welcome back" not in fresh and "Your address is confirmed" in fresh
    assert "Welcome back" in site.client.get("/login").text
