"""Security keys, passkeys and remembered browsers through the pages (forms, cookies).

The browser's part (``webauthn.js``) is played by the software key: it reads the options
the page put in ``data-options`` and posts its answer in the ``credential`` field.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

import pytest

from tests.support.security_key import SoftKey
from tests.web.pages.conftest import BACKUP, Site, SiteFactory

RP_ID, ORIGIN = "auth.example.test", "https://auth.example.test"
OPTIONS = re.compile(r"data-options='([^']+)'")


def options_on(page: Any) -> dict[str, Any]:
    found = OPTIONS.search(page.text)
    assert found is not None, page.text
    parsed: dict[str, Any] = json.loads(html.unescape(found.group(1)))
    return parsed


def with_a_key(site: Site) -> SoftKey:
    """Register, sign in, confirm the address and add a key as the first factor."""
    site.register()
    site.login()
    site.verify()
    page = site.client.get("/account/security-keys/new")
    assert page.status_code == 200 and 'data-webauthn="create"' in page.text
    key = SoftKey(RP_ID, ORIGIN)
    answer = json.dumps(key.create(options_on(page)))
    done = site.submit(
        "/account/security-keys", {"name": "YubiKey", "credential": answer}, form_page="/account"
    )
    assert done.status_code == 200 and len(BACKUP.findall(done.text)) == 10, done.text
    return key


def test_the_sign_in_page_offers_a_passkey(site: Site) -> None:
    page = site.client.get("/login")
    assert 'data-webauthn="passkey"' in page.text and "Sign in with a passkey" in page.text
    assert "/static/webauthn.js" in page.text


def test_a_key_answers_the_code_step_and_the_browser_is_remembered(site: Site) -> None:
    key = with_a_key(site)
    site.client.cookies.clear()
    assert site.login().headers["location"] == "/login/2fa"
    page = site.client.get("/login/2fa")
    assert "Use your security key" in page.text and "ask for a code on this browser" in page.text
    answer = json.dumps(key.get(options_on(page)))
    done = site.submit("/login/2fa/key", {"credential": answer, "remember": "yes"})
    assert done.status_code == 303 and done.headers["location"] == "/account", done.text
    assert "__Host-twostep-remember=" in done.headers.get("set-cookie", "")
    assert "twostep-remember" in str(site.client.cookies.keys())
    # The next password step on this browser completes the sign-in.
    site.client.cookies.delete("__Host-twostep")
    assert site.login().headers["location"] == "/account"
    account = site.client.get("/account")
    assert 'id="browsers"' in account.text and "Security key" in account.text


def test_a_passkey_signs_in_from_the_sign_in_page(site: Site) -> None:
    key = with_a_key(site)
    site.client.cookies.clear()
    started = site.client.post("/api/v1/auth/passkey/options").json()
    answer = json.dumps(key.get(started["options"]))
    done = site.submit(
        "/login/passkey", {"challenge_id": started["challenge_id"], "credential": answer}
    )
    assert done.status_code == 303 and done.headers["location"] == "/account", done.text


@pytest.mark.parametrize("credential", ["", "{", "[]", "\x00", "{}", '{"id": 1}', "x" * 40_000])
@pytest.mark.parametrize("path", ["/login/passkey", "/login/2fa/key", "/account/security-keys"])
def test_a_broken_answer_is_a_form_error(site: Site, path: str, credential: str) -> None:
    with_a_key(site)
    if path == "/login/2fa/key":
        site.client.cookies.clear()
        site.login()
    reply = site.submit(path, {"credential": credential, "challenge_id": "x"}, form_page="/login")
    assert reply.status_code < 500, reply.text
    assert reply.status_code in (303, 400, 401, 422), reply.text


def test_an_enrolment_only_session_may_add_a_key_as_its_first_factor(
    make_site: SiteFactory,
) -> None:
    site = make_site(mfa="required")
    site.register()
    assert site.login().headers["location"].startswith("/enroll")
    site.verify()
    assert "/account/security-keys/new" in site.client.get("/enroll").text
    page = site.client.get("/account/security-keys/new")
    assert page.status_code == 200, page.text
    key = SoftKey(RP_ID, ORIGIN)
    done = site.submit(
        "/account/security-keys",
        {"credential": json.dumps(key.create(options_on(page)))},
        form_page="/enroll",
    )
    assert done.status_code == 200 and len(BACKUP.findall(done.text)) == 10, done.text
    assert site.get("/account").status_code == 200  # a full session now


def test_a_key_only_account_is_not_asked_for_an_app_code(site: Site) -> None:
    with_a_key(site)
    site.client.cookies.clear()
    site.login()
    page = site.client.get("/login/2fa")
    assert "Use your security key or passkey to finish" in page.text
    assert 'name="code"' not in page.text and "Use a backup code instead" in page.text
    backup = site.client.get("/login/2fa?method=backup")
    assert 'name="backup_code"' in backup.text and "Use your security key instead" in backup.text
