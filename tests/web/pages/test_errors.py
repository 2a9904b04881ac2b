"""Errors on the pages: human messages with the right status, never a 500 or a traceback."""

from __future__ import annotations

import re

from tests.web.pages.conftest import EMAIL, PASSWORD, Site
from twostep.web.middleware import PAGE_CSP


def _without_tokens(html: str) -> str:
    return re.sub(r'name="csrf_token" value="[^"]+"', "", html)


def test_unknown_account_and_wrong_password_look_the_same(site: Site) -> None:
    site.register()
    wrong = site.login(password="not the password at all")
    unknown = site.login(email="nobody@example.com", password="not the password at all")
    assert wrong.status_code == unknown.status_code == 401
    assert "The email or password is incorrect." in wrong.text
    assert _without_tokens(wrong.text).replace(EMAIL, "X") == _without_tokens(unknown.text).replace(
        "nobody@example.com", "X"
    )


def test_registering_a_taken_address_looks_like_a_new_one(site: Site) -> None:
    site.register()
    again = site.submit("/register", {"email": EMAIL, "password": "another fine passphrase"})
    new = site.submit("/register", {"email": "new@example.com", "password": PASSWORD})
    assert again.status_code == new.status_code == 303
    assert again.headers["location"].replace("robin", "new") == new.headers["location"]


def test_a_weak_password_is_explained(site: Site) -> None:
    reply = site.submit("/register", {"email": EMAIL, "password": "password"})
    assert reply.status_code == 422 and "too common" in reply.text
    assert 'aria-invalid="true"' in reply.text and EMAIL in reply.text
    bad_email = site.submit("/register", {"email": "not an address", "password": PASSWORD})
    assert bad_email.status_code == 422 and "valid email address" in bad_email.text


def test_a_wrong_code_then_the_lockout_in_the_users_terms(site: Site) -> None:
    site.signed_up()
    site.submit("/logout", {})
    site.login()
    hints = []
    for _ in range(4):
        wrong = site.submit("/login/2fa", {"code": "000000"}, form_page="/login/2fa")
        assert wrong.status_code == 401 and "authenticator code is not right" in wrong.text
        hints.append(re.search(r"(\d) tr(?:y|ies) left", wrong.text))
    # attempts left show once fewer than three remain
    assert [h.group(1) if h else None for h in hints] == [None, None, "2", "1"]
    locked = site.submit("/login/2fa", {"code": "000000"}, form_page="/login/2fa")
    assert locked.status_code == 429
    assert "sign-in is locked for now" in locked.text and "It unlocks in" in locked.text
    assert 'data-unlock="900"' in locked.text and 'name="code"' not in locked.text
    assert "expired" not in locked.text.lower()
    assert locked.headers["retry-after"] == "900"
    site.clock.advance(60)
    site.login()
    still = site.get("/login/2fa")
    assert still.status_code == 429 and 'data-unlock="840"' in still.text
    assert 'name="code"' not in still.text and "administrator" in still.text
    refused = site.submit("/login/2fa", {"code": site.code()}, form_page="/login")
    assert refused.status_code == 429 and 'data-unlock="840"' in refused.text


def test_an_empty_code_is_asked_for_again(site: Site) -> None:
    site.signed_up()
    site.submit("/logout", {})
    site.login()
    reply = site.submit("/login/2fa", {"code": "  "}, form_page="/login/2fa")
    assert reply.status_code == 422 and "Enter the code" in reply.text


def test_an_expired_sign_in_goes_back_to_the_login_page(site: Site) -> None:
    site.signed_up()
    site.submit("/logout", {})
    site.login()
    site.clock.advance(301)
    assert site.get("/login/2fa").headers["location"] == "/login?notice=expired"
    page = site.client.get("/login?notice=expired")
    assert "This sign-in attempt expired" in page.text


def test_a_challenge_the_server_no_longer_knows_is_expired_too(site: Site) -> None:
    site.signed_up()
    site.submit("/logout", {})
    site.client.cookies.set("__Host-twostep-challenge", "0123:99999999999:b")
    reply = site.submit("/login/2fa", {"code": site.code()}, form_page="/login")
    assert reply.headers["location"] == "/login?notice=expired"


def test_a_forged_or_broken_challenge_cookie_is_no_challenge(site: Site) -> None:
    for value in ("", "x", "a:b:c", "a:1:b:extra", "x" * 200):
        site.client.cookies.set("__Host-twostep-challenge", value)
        assert site.get("/login/2fa").headers["location"] == "/login?notice=expired"


def test_dead_reset_and_verification_links_explain_themselves(site: Site) -> None:
    dead = site.get("/reset-password?token=nope")
    assert dead.status_code == 400 and "Ask for a new link" in dead.text
    posted = site.submit("/reset-password", {"token": "nope", "password": PASSWORD})
    assert posted.status_code == 400
    link = site.get("/verify-email?token=abc.def")
    assert link.status_code == 400 and "already used or has expired" in link.text


def test_service_errors_on_account_pages_become_messages(site: Site) -> None:
    site.signed_up()
    missing = site.submit("/account/devices/nope/rename", {"name": "X"}, form_page="/account")
    assert missing.status_code == 404 and "No such device." in missing.text
    device = re.search(r"/account/devices/([^/]+)/rename", site.client.get("/account").text)
    assert device is not None
    long_name = site.submit(
        f"/account/devices/{device.group(1)}/rename", {"name": "x" * 65}, form_page="/account"
    )
    assert long_name.status_code == 422 and "64 printable characters" in long_name.text
    gone = site.submit("/account/sessions/nope/revoke", {}, form_page="/account")
    assert gone.status_code == 404 and "No such session." in gone.text
    assert site.get("/account/devices/nope/remove").headers["location"] == "/account"


def test_an_unelevated_post_is_sent_to_the_step_up(site: Site) -> None:
    site.signed_up()
    reply = site.submit("/account/two-factor/disable", {}, form_page="/account")
    assert reply.status_code == 303
    assert reply.headers["location"] == "/step-up?next=/account/two-factor/disable"
    password = site.submit(
        "/account/password",
        {"current_password": PASSWORD, "new_password": "a new long passphrase"},
        form_page="/account",
    )
    assert password.headers["location"] == "/step-up?next=/account/password"


def test_a_wrong_enrollment_code_keeps_the_key_on_screen(site: Site) -> None:
    site.register()
    site.login()
    site.verify()
    page = site.start_enrolment()
    secret = re.search(r'data-copy="([A-Z2-7]+)"', page.text)
    device = re.search(r'name="device_id" value="([^"]+)"', page.text)
    assert secret is not None and device is not None
    assert 'name="secret"' not in page.text  # the key never travels back in a form
    fields = {"device_id": device.group(1)}
    wrong = site.submit("/enroll/confirm", {**fields, "code": "000000"}, form_page="/account")
    assert wrong.status_code == 401 and "code is not right" in wrong.text
    assert "data:image/svg+xml;base64," in wrong.text and "otpauth://totp/" in wrong.text
    assert f'data-copy="{secret.group(1)}"' in wrong.text  # the same key, from the server
    forged = site.submit(
        "/enroll/confirm", {**fields, "secret": "JBSWY3DPEHPK3PXP", "code": "000000"},
        form_page="/account",
    )  # fmt: skip
    assert "JBSWY3DPEHPK3PXP" not in forged.text and f'data-copy="{secret.group(1)}"' in forged.text
    stale = site.submit(
        "/enroll/confirm", {**fields, "device_id": "gone", "code": "123456"}, form_page="/account"
    )
    assert stale.headers["location"] == "/enroll?notice=setup-expired"
    assert "replaced or has expired" in site.client.get("/enroll?notice=setup-expired").text


def test_a_resent_enrollment_form_never_shows_codes_twice(site: Site) -> None:
    site.register()
    site.login()
    site.verify()
    page = site.start_enrolment()
    secret = re.search(r'data-copy="([A-Z2-7]+)"', page.text)
    device = re.search(r'name="device_id" value="([^"]+)"', page.text)
    assert secret is not None and device is not None
    site.secret = secret.group(1)
    fields = {"device_id": device.group(1), "secret": site.secret, "code": site.code()}
    first = site.submit("/enroll/confirm", fields, form_page="/account")
    assert first.status_code == 200 and "Save your backup codes" in first.text
    again = site.submit("/enroll/confirm", fields, form_page="/account")
    assert again.headers["location"] == "/account"
    assert site.get("/enroll/confirm").headers["location"] == "/enroll"


def test_typing_the_logout_address_asks_first(site: Site) -> None:
    assert site.get("/logout").headers["location"] == "/login"
    site.register()
    site.login()
    page = site.get("/logout")
    assert page.status_code == 200 and "Sign out?" in page.text
    assert site.get("/account").status_code == 200


def test_a_locked_password_step_says_when_it_unlocks_and_the_ways_out(site: Site) -> None:
    site.signed_up()
    site.submit("/logout", {})
    threshold = site.settings.password_lockout_threshold
    for _ in range(threshold - 1):
        assert site.login(password="not the password").status_code == 401
    locked = site.login(password="not the password")
    assert locked.status_code == 429
    seconds = site.settings.password_lockout_minutes * 60
    assert f'data-unlock="{seconds}"' in locked.text and "<time datetime=" in locked.text
    assert 'href="/forgot-password"' in locked.text and 'href="/login/email"' in locked.text
    assert 'name="password"' not in locked.text and "expired" not in locked.text.lower()


PAGE = {"accept": "text/html"}


def test_a_missing_page_keeps_the_header_for_someone_signed_in(site: Site) -> None:
    site.signed_up()
    missing = site.client.get("/no-such-page", headers=PAGE)
    assert missing.status_code == 404
    assert "<h1>Page not found</h1>" in missing.text
    assert 'class="site-nav"' in missing.text and EMAIL in missing.text
    assert 'href="/account">Back to your account</a>' in missing.text
    assert "Go to sign in" not in missing.text
    assert missing.headers["content-security-policy"] == PAGE_CSP


def test_a_missing_page_offers_sign_in_to_a_visitor(site: Site) -> None:
    missing = site.client.get("/no-such-page", headers=PAGE)
    assert missing.status_code == 404
    assert 'class="site-nav"' not in missing.text
    assert 'href="/login">Go to sign in</a>' in missing.text


def test_error_messages_keep_the_header_and_the_next_step_for_someone_signed_in(
    site: Site,
) -> None:
    site.signed_up()
    stale = site.client.post(
        "/account/sessions/revoke-others", data={"csrf_token": "stale"}, follow_redirects=False
    )
    assert stale.status_code == 403
    assert 'class="site-nav"' in stale.text and "Back to your account" in stale.text
    assert "Go to sign in" not in stale.text
    api_path = site.client.get("/api/v1/no-such-thing", headers=PAGE)
    assert api_path.headers["content-type"].startswith("application/json")
