"""``/api/v1/forward-auth``: each proxy flavour's headers, forged headers, rules, revocation.

The app plays twostep; one client plays the browser at ``auth.example.test`` (the pages),
another the reverse proxy on ``127.0.0.1`` (a trusted proxy), passing the browser's cookie
on as nginx, Traefik and Caddy do.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import httpx2 as httpx
import pytest
from fastapi.testclient import TestClient

from tests.web.pages.conftest import Site, SiteFactory
from twostep.web.api.forward_auth import UNTRUSTED

RULES = """
[[rules]]
domain = "app.example.test"
path = "/public/"
policy = "bypass"

[[rules]]
domain = "app.example.test"
path = "/closed/"
policy = "deny"

[[rules]]
domain = "app.example.test"
networks = ["10.0.0.0/8"]
path = "/office/"
policy = "bypass"

[[rules]]
domain = "app.example.test"
path = "/fresh/"
policy = "two_factor"
max_age = 5

[[rules]]
domain = "app.example.test"
path = "/admin/"
policy = "one_factor"
roles = ["admin"]

[[rules]]
domain = "app.example.test"
methods = ["DELETE"]
policy = "deny"

[[rules]]
domain = ["app.example.test", "outside.test"]
policy = "two_factor"
"""
APP = "https://app.example.test"
SSO = "__Secure-twostep-sso"


@pytest.fixture
def site(make_site: SiteFactory, tmp_path: Path) -> Site:
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES, encoding="utf-8")
    return make_site(
        cookie_domain="example.test", trusted_proxies=["127.0.0.1"], access_rules=str(rules)
    )


@pytest.fixture
def proxy(site: Site) -> TestClient:
    return TestClient(site.client.app, base_url="http://twostep:8000", client=("127.0.0.1", 4000))


def with_code(site: Site) -> Site:
    """An enrolled user, signed in again with password and code (as every later day)."""
    site.signed_up()
    assert site.submit("/logout", {}, form_page="/account").status_code == 303
    site.next_step()
    assert site.login().headers["location"] == "/login/2fa"
    done = site.submit("/login/2fa", {"code": site.code()}, form_page="/login/2fa")
    assert done.status_code == 303, done.text
    return site


def sso_token(site: Site, url: str = APP + "/") -> str:
    """Return from the sign-in to ``url``; the single-sign-on token the browser is given."""
    reply = site.get("/sso/return?rd=" + quote(url, safe=""))
    assert reply.status_code == 303 and reply.headers["location"] == url, reply.text
    cookie = next(c for c in reply.headers.get_list("set-cookie") if c.startswith(SSO + "="))
    flags = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"domain=example.test", "secure", "httponly", "samesite=lax", "path=/"} <= flags
    return cookie.split(";", 1)[0].split("=", 1)[1]


def traefik(proxy: TestClient, path: str, token: str | None = None, **extra: str) -> httpx.Response:
    headers = {
        "X-Forwarded-Proto": "https", "X-Forwarded-Host": "app.example.test",
        "X-Forwarded-Uri": path, "X-Forwarded-Method": "GET", **extra,
    }  # fmt: skip
    if token:
        headers["Cookie"] = f"{SSO}={token}"
    reply: httpx.Response = proxy.get(
        "/api/v1/forward-auth", headers=headers, follow_redirects=False
    )
    return reply


def nginx(
    proxy: TestClient, url: str, token: str | None = None, method: str = "GET"
) -> httpx.Response:
    headers = {"X-Original-URL": url, "X-Original-Method": method}
    if token:
        headers["Cookie"] = f"{SSO}={token}"
    reply: httpx.Response = proxy.get(
        "/api/v1/forward-auth/nginx", headers=headers, follow_redirects=False
    )
    return reply


def test_signed_out_traefik_and_caddy_get_a_redirect_to_sign_in(proxy: TestClient) -> None:
    reply = traefik(proxy, "/notes?id=1")
    assert reply.status_code == 302
    expected = "https://auth.example.test/login?rd=" + quote(APP + "/notes?id=1", safe="")
    assert reply.headers["location"] == expected


def test_signed_out_nginx_gets_401_with_where_to_go(proxy: TestClient) -> None:
    reply = nginx(proxy, APP + "/notes")
    assert reply.status_code == 401
    location = reply.headers["location"]
    assert location == "https://auth.example.test/login?rd=" + quote(APP + "/notes", safe="")


def test_a_signed_in_user_is_named_to_the_app(site: Site, proxy: TestClient) -> None:
    with_code(site)
    token = sso_token(site)
    for reply in (traefik(proxy, "/notes", token), nginx(proxy, APP + "/notes", token)):
        assert reply.status_code == 200
        headers = reply.headers
        assert headers["remote-user"] == headers["remote-email"] == "robin@example.com"
        assert (headers["remote-name"], headers["remote-groups"]) == ("robin", "user")
        assert headers["cache-control"] == "no-store"


def test_bypass_deny_roles_and_methods(site: Site, proxy: TestClient) -> None:
    assert traefik(proxy, "/public/logo.png").status_code == 200
    assert traefik(proxy, "/public/x").headers["remote-user"] == ""  # present, and empty
    assert traefik(proxy, "/closed/").status_code == 403
    assert traefik(proxy, "/public/../closed/").status_code == 403
    with_code(site)
    token = sso_token(site)
    assert traefik(proxy, "/closed/", token).status_code == 403
    assert traefik(proxy, "/admin/", token).status_code == 403
    assert nginx(proxy, APP + "/x", token, "DELETE").status_code == 403
    deleting = traefik(proxy, "/x", token, **{"X-Forwarded-Method": "delete"})
    assert deleting.status_code == 403


def test_a_network_rule_reads_the_client_address_from_the_trusted_proxy(
    proxy: TestClient,
) -> None:
    inside = traefik(proxy, "/office/", **{"X-Forwarded-For": "10.1.2.3"})
    assert inside.status_code == 200
    outside = traefik(proxy, "/office/", **{"X-Forwarded-For": "192.0.2.1"})
    assert outside.status_code == 302


@pytest.mark.parametrize("peer", ["192.0.2.50", "10.0.0.1", "testclient"])
def test_an_untrusted_peer_cannot_pass_an_original_url(site: Site, peer: str) -> None:
    with_code(site)
    token = sso_token(site)
    forger = TestClient(site.client.app, base_url="http://twostep:8000", client=(peer, 4000))
    for reply in (
        traefik(forger, "/public/x"),
        traefik(forger, "/notes", token, **{"X-Forwarded-For": "127.0.0.1"}),
        nginx(forger, APP + "/notes", token),
    ):
        assert reply.status_code == 403
        assert reply.json()["error"]["message"] == UNTRUSTED


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Forwarded-Proto": "ftp"},
        {"X-Forwarded-Proto": ""},
        {"X-Forwarded-Host": ""},
        {"X-Forwarded-Host": "app.example.test/evil"},
        {"X-Forwarded-Host": "app.example.test@evil.test"},
        {"X-Forwarded-Uri": "notes"},
        {"X-Forwarded-Uri": "/a b"},
        {"X-Forwarded-Method": "FETCH"},
    ],
)
def test_a_malformed_forwarded_request_is_a_clear_4xx(
    proxy: TestClient, headers: dict[str, str]
) -> None:
    reply = traefik(proxy, "/notes", **headers)
    assert reply.status_code == 422
    assert reply.json()["error"]["code"] == "VALIDATION_ERROR"


@pytest.mark.parametrize(
    "url", ["", "app.example.test/x", "javascript:alert(1)", "https:///x", "https://[::1"]
)
def test_a_malformed_original_url_is_a_clear_4xx(proxy: TestClient, url: str) -> None:
    assert nginx(proxy, url).status_code == 422


def test_a_host_outside_the_cookie_domain_signs_in_without_a_return(proxy: TestClient) -> None:
    reply = traefik(proxy, "/", **{"X-Forwarded-Host": "outside.test"})
    assert reply.headers["location"] == "https://auth.example.test/login"


def test_sign_out_ends_access_on_the_next_request(site: Site, proxy: TestClient) -> None:
    with_code(site)
    token = sso_token(site)
    assert traefik(proxy, "/notes", token).status_code == 200
    out = site.submit("/logout", {}, form_page="/account")
    assert out.status_code == 303
    cleared = [c for c in out.headers.get_list("set-cookie") if c.startswith(SSO + "=")]
    assert cleared and "max-age=0" in cleared[0].lower() and "Domain=example.test" in cleared[0]
    assert traefik(proxy, "/notes", token).status_code == 302
    assert nginx(proxy, APP + "/notes", token).status_code == 401


def test_signing_out_other_sessions_ends_theirs(site: Site, proxy: TestClient) -> None:
    site.signed_up()
    laptop = site.other_browser()
    laptop.clock.advance(30)
    assert laptop.login().status_code == 303
    laptop.submit("/login/2fa", {"code": laptop.code()}, form_page="/login/2fa")
    token = sso_token(laptop)
    assert traefik(proxy, "/notes", token).status_code == 200
    site.next_step()
    step = site.submit("/step-up", {"code": site.code()}, form_page="/step-up")
    assert step.status_code == 303, step.text
    revoked = site.submit("/account/sessions/revoke-others", {}, form_page="/account")
    assert revoked.status_code == 303, revoked.text
    assert traefik(proxy, "/notes", token).status_code == 302


def test_max_age_sends_the_user_to_step_up_and_back(site: Site, proxy: TestClient) -> None:
    with_code(site)
    token = sso_token(site)
    assert traefik(proxy, "/fresh/", token).status_code == 200
    site.clock.advance(6 * 60)
    reply = traefik(proxy, "/fresh/", token)
    rd = quote(APP + "/fresh/", safe="")
    assert reply.status_code == 302
    assert reply.headers["location"] == f"https://auth.example.test/step-up?rd={rd}"
    page = site.get(f"/step-up?rd={rd}")
    assert page.status_code == 200 and f"/sso/return?rd={rd}" in page.text.replace("&amp;", "&")
    assert "The app you opened asks you to confirm" in page.text  # not "a sensitive change"
    assert "sensitive change" not in page.text
    done = site.submit("/step-up", {"code": site.code(), "next": f"/sso/return?rd={rd}"},
                       form_page=f"/step-up?rd={rd}")  # fmt: skip
    assert done.headers["location"] == f"/sso/return?rd={rd}"
    fresh = sso_token(site, APP + "/fresh/")
    assert traefik(proxy, "/fresh/", fresh).status_code == 200
    assert traefik(proxy, "/fresh/", token).status_code == 302


# --- the return trip through the sign-in pages -------------------------------------------


@pytest.mark.parametrize(
    "rd",
    [
        "https://evil.test/",
        "//evil.test/",
        "https://app.example.test@evil.test/",
        "https://app.example.test\\@evil.test/",
        "javascript:alert(1)",
        "https%3A%2F%2Fevil.test",
        "http://app.example.test/",  # the cookie is Secure: https only
        "/account",
    ],
)
def test_the_sign_in_page_refuses_a_return_address_off_the_domain(site: Site, rd: str) -> None:
    for path in ("/login", "/step-up"):
        if path == "/step-up":  # for a signed-in user
            site.signed_up()
        page = site.get(f"{path}?rd={quote(rd, safe='')}")
        assert page.status_code == 422, (path, page.status_code)
        assert "not one of the sites this sign-in serves" in page.text
        assert "evil" not in page.headers.get("location", "")


def test_sign_in_returns_to_the_app(site: Site) -> None:
    with_code(site)
    site.submit("/logout", {}, form_page="/account")
    rd = quote(APP + "/notes?id=1", safe="")
    form = site.get(f"/login?rd={rd}")
    assert form.status_code == 200
    assert f'value="/sso/return?rd={rd}"' in form.text
    csp = form.headers["content-security-policy"]
    assert "form-action 'self' https://example.test:* https://*.example.test:*" in csp
    site.next_step()
    password = site.submit("/login", {"email": "robin@example.com",
                                      "password": "correct horse battery staple",
                                      "next": f"/sso/return?rd={rd}"},
                           form_page=f"/login?rd={rd}")  # fmt: skip
    assert password.headers["location"].startswith("/login/2fa?next=")
    code = site.submit("/login/2fa", {"code": site.code(), "next": f"/sso/return?rd={rd}"},
                       form_page=password.headers["location"])  # fmt: skip
    assert code.headers["location"] == f"/sso/return?rd={rd}"
    assert sso_token(site, APP + "/notes?id=1")
    # Already signed in: the sign-in page goes straight back to the app.
    again = site.get(f"/login?rd={rd}")
    assert again.headers["location"] == f"/sso/return?rd={rd}"


def test_without_a_cookie_domain_there_is_no_return_trip(make_site: SiteFactory) -> None:
    plain = make_site()
    assert plain.get("/sso/return?rd=" + quote(APP + "/", safe="")).status_code == 404
    assert plain.get("/login?rd=" + quote(APP + "/", safe="")).status_code == 422
    assert "form-action 'self';" in plain.get("/login").headers["content-security-policy"]


def test_development_over_http_may_relax_the_secure_flag(
    make_site: SiteFactory, tmp_path: Path
) -> None:
    dev = make_site(public_url="http://auth.example.test:8000", cookie_domain="example.test",
                    cookie_secure=False)  # fmt: skip
    dev.signed_up()
    reply = dev.get("/sso/return?rd=" + quote("http://app.example.test:8080/", safe=""))
    assert reply.status_code == 303
    cookie = next(c for c in reply.headers.get_list("set-cookie") if c.startswith("twostep_sso="))
    assert "secure" not in cookie.lower().replace("__secure", "")
