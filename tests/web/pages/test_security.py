"""CSRF, cookies, redirects and headers of the pages."""

from __future__ import annotations

import re

import pytest
from pydantic import SecretStr

from tests.web.pages.conftest import CSRF, EMAIL, PASSWORD, Site, SiteFactory
from twostep.clock import SystemClock
from twostep.mail.outbox import Outbox
from twostep.web.middleware import PAGE_CSP

FORBIDDEN_MARKUP = re.compile(r"<script(?![^>]*\bsrc=)|<style|\sstyle=|\son[a-z]+=", re.I)


def _cookie(reply_headers: list[str], prefix: str) -> str:
    found = [h for h in reply_headers if h.startswith(prefix)]
    assert len(found) == 1, reply_headers
    return found[0]


def test_a_form_without_its_token_is_refused_with_a_page(site: Site) -> None:
    site.register()
    reply = site.client.post(
        "/login", data={"email": EMAIL, "password": PASSWORD}, follow_redirects=False
    )
    assert reply.status_code == 403
    assert reply.headers["content-type"].startswith("text/html")
    assert "This form has expired" in reply.text
    assert not any("twostep=" in h for h in reply.headers.get_list("set-cookie"))


def test_a_token_for_another_browser_is_refused(site: Site) -> None:
    stranger = site.other_browser()
    token = stranger.token()
    site.token()  # this browser has its own nonce
    fields = {"csrf_token": token, "email": EMAIL, "password": PASSWORD}
    assert site.client.post("/login", data=fields).status_code == 403
    fields["csrf_token"] = token[:-1] + ("0" if token[-1] != "0" else "1")
    assert stranger.client.post("/login", data=fields).status_code == 403


def test_a_token_from_before_sign_in_is_dead_after_it(site: Site) -> None:
    site.register()
    before = site.token()
    assert site.login().headers["location"] == "/account"
    reply = site.client.post("/logout", data={"csrf_token": before}, follow_redirects=False)
    assert reply.status_code == 403
    assert site.get("/account").status_code == 200  # still signed in


def test_session_cookie_is_host_only_secure_and_http_only(site: Site) -> None:
    site.register()
    reply = site.login()
    cookie = _cookie(reply.headers.get_list("set-cookie"), "__Host-twostep=")
    flags = [part.strip().lower() for part in cookie.split(";")[1:]]
    assert {"httponly", "path=/", "samesite=lax", "secure"} <= set(flags)
    assert not any(flag.startswith("domain") for flag in flags)
    csrf = _cookie(reply.headers.get_list("set-cookie"), "__Host-twostep-csrf=")
    assert "httponly" in csrf.lower() and "secure" in csrf.lower()


def test_development_over_http_uses_plain_cookie_names(make_site: SiteFactory) -> None:
    site = make_site(public_url="http://testserver")
    site.register()
    cookie = _cookie(site.login().headers.get_list("set-cookie"), "twostep_session=")
    assert "secure" not in cookie.lower() and "httponly" in cookie.lower()
    assert site.get("/account").status_code == 200


def test_logout_ends_the_session_on_the_server(site: Site) -> None:
    site.register()
    site.login()
    stolen = site.client.cookies.get("__Host-twostep")
    assert stolen
    assert site.submit("/logout", {}).headers["location"] == "/login?notice=signed-out"
    replay = site.other_browser()
    replay.client.cookies.set("__Host-twostep", stolen)
    assert replay.get("/account").headers["location"] == "/login?next=/account"


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example/",
        "https://evil.example/",
        "/\\evil.example",
        "javascript:alert(1)",
        "/\t/evil.example",
        "http:/evil.example",
    ],
)
def test_next_never_leaves_the_site(site: Site, target: str) -> None:
    site.register()
    reply = site.submit("/login", {"email": EMAIL, "password": PASSWORD, "next": target})
    assert reply.headers["location"] == "/account"
    assert site.get("/login", params={"next": target}).headers["location"] == "/account"


def test_next_keeps_a_path_of_this_site(site: Site) -> None:
    codes = site.signed_up()
    reply = site.submit(
        "/step-up",
        {"method": "backup", "backup_code": codes[0], "next": "https://evil.example/"},
        form_page="/step-up",
    )
    assert reply.headers["location"] == "/account"
    site.submit("/logout", {})
    site.login()
    done = site.submit(
        "/login/2fa",
        {"method": "backup", "backup_code": codes[1], "next": "/account/password"},
        form_page="/login/2fa",
    )
    assert done.headers["location"] == "/account/password"


PUBLIC = ["/", "/login", "/register", "/forgot-password", "/verify-email", "/login/email"]


@pytest.mark.parametrize("path", PUBLIC)
def test_pages_carry_the_page_csp_and_no_inline_code(site: Site, path: str) -> None:
    reply = site.get(path)
    assert reply.status_code == 200
    assert reply.headers["content-security-policy"] == PAGE_CSP
    assert reply.headers["cache-control"] == "no-store"
    assert reply.headers["x-frame-options"] == "DENY"
    assert not FORBIDDEN_MARKUP.search(reply.text)
    assert 'name="viewport"' in reply.text and "Development mode" in reply.text


def test_signed_in_pages_render_without_inline_code(site: Site) -> None:
    site.signed_up()
    site.submit("/step-up", {"code": site.code(), "next": "/account"}, form_page="/step-up")
    device = re.search(r"/account/devices/([^/]+)/remove", site.client.get("/account").text)
    assert device is not None
    paths = [
        "/account",
        "/step-up",
        "/account/password",
        "/account/backup-codes",
        "/account/two-factor/disable",
        f"/account/devices/{device.group(1)}/remove",
        "/enroll",
    ]
    for path in paths:
        reply = site.get(path)
        assert reply.status_code == 200, (path, reply.headers.get("location"))
        assert not FORBIDDEN_MARKUP.search(reply.text), path
        for label in re.findall(r'<input id="([^"]+)"', reply.text):
            assert f'for="{label}"' in reply.text, (path, label)


def test_production_has_no_mailbox_and_no_banner(make_site: SiteFactory) -> None:
    site = make_site(  # the site's keyring and mailer are injected; Settings still ask
        env="production",
        keyring="/etc/twostep/keyring.json",
        smtp_url=SecretStr("smtp+starttls://mail.example.test"),
    )
    assert site.get("/dev/mailbox").status_code == 404
    assert site.get("/dev/mailbox/00000000000000000000-00000000-000000000000").status_code == 404
    page = site.get("/login")
    assert page.status_code == 200 and "Development mode" not in page.text
    assert "/dev/mailbox" not in page.text


def test_the_dev_mailbox_shows_mail_with_links_to_this_site_only(
    make_site: SiteFactory, tmp_path_factory: pytest.TempPathFactory
) -> None:
    outbox = Outbox(tmp_path_factory.mktemp("outbox"), SystemClock())
    site = make_site(mailer=outbox)
    site.register()
    listing = site.get("/dev/mailbox")
    assert listing.status_code == 200 and EMAIL in listing.text
    message_id = re.search(r'href="/dev/mailbox/([0-9a-f-]+)"', listing.text)
    assert message_id is not None
    message = site.get(f"/dev/mailbox/{message_id.group(1)}")
    assert '<a href="https://auth.example.test/verify-email?token=' in message.text
    assert site.get("/dev/mailbox/not-an-id").status_code == 404
    token = CSRF.search(listing.text)
    assert token is not None
    cleared = site.client.post("/dev/mailbox/clear", data={"csrf_token": token.group(1)})
    assert cleared.status_code == 200 and "No emails yet" in cleared.text


def test_the_page_cookie_and_api_refresh_tokens_are_kept_apart(site: Site) -> None:
    """A browser's session cookie is not an API refresh token, nor the other way round."""
    site.signed_up()
    cookie = site.client.cookies.get("__Host-twostep")
    assert cookie
    refused = site.client.post("/api/v1/auth/refresh", json={"refresh_token": cookie})
    assert refused.status_code == 401
    assert site.get("/account").status_code == 200  # and the cookie still works in its browser

    site.next_step()
    challenge = site.client.post(
        "/api/v1/auth/login", json={"email": EMAIL, "password": PASSWORD}
    ).json()
    tokens = site.client.post(
        "/api/v1/auth/login/verify",
        json={"challenge_id": challenge["challenge_id"], "code": site.code()},
    ).json()
    thief = site.other_browser()
    thief.client.cookies.set("__Host-twostep", tokens["refresh_token"])
    assert thief.get("/account").headers["location"].startswith("/login")


def test_a_step_up_gives_the_browser_a_new_session_cookie(site: Site) -> None:
    site.signed_up()
    before = site.client.cookies.get("__Host-twostep")
    stepped = site.submit(
        "/step-up", {"code": site.code(), "next": "/account"}, form_page="/step-up"
    )
    assert stepped.headers["location"] == "/account"
    after = site.client.cookies.get("__Host-twostep")
    assert after and after != before
    assert site.get("/account/backup-codes").status_code == 200  # elevated, on the new cookie
    copy = site.other_browser()
    copy.client.cookies.set("__Host-twostep", str(before))
    assert copy.get("/account").headers["location"].startswith("/login")
