"""``/admin/users``: search, filters, pagination that keeps them; the detail page."""

from __future__ import annotations

import re
from html import unescape

from tests.web.admin.conftest import ADMIN, EMAIL, PASSWORD, Console
from twostep.services.operations import create_user

ROW = re.compile(r'<a class="strong-link" href="/admin/users/[^"]+">([^<]+)</a>')
NEXT = re.compile(r'<a class="btn btn-secondary btn-small" href="([^"]+)" rel="next">')


def emails(html: str) -> list[str]:
    return ROW.findall(html)


def lock_out(console: Console) -> None:
    """Too many wrong codes from the user: their second factor locks."""
    user = console.user
    user.submit("/logout", {}, form_page="/account")
    user.login()
    for _ in range(console.ctx.settings.lockout_threshold):
        user.submit("/login/2fa", {"code": "000000"}, form_page="/login/2fa")


def test_search_and_filter_by_two_factor_state(console: Console) -> None:
    create_user(console.ctx, "no2fa@example.com", PASSWORD)
    admin = console.admin

    assert emails(admin.get("/admin/users").text) == [EMAIL, ADMIN, "no2fa@example.com"]
    assert emails(admin.get("/admin/users?q=ROBIN").text) == [EMAIL]
    assert emails(admin.get("/admin/users?two_factor=enabled").text) == [EMAIL, ADMIN]
    assert emails(admin.get("/admin/users?two_factor=disabled").text) == ["no2fa@example.com"]
    assert emails(admin.get("/admin/users?two_factor=locked").text) == []
    nothing = admin.get("/admin/users?q=nobody")
    assert nothing.status_code == 200 and "No accounts match" in nothing.text
    assert emails(admin.get("/admin/users?two_factor=bogus").text) == emails(
        admin.get("/admin/users").text
    )

    lock_out(console)
    locked = admin.get("/admin/users?two_factor=locked").text
    assert emails(locked) == [EMAIL] and "Locked</span>" in locked
    assert '<option value="locked" selected>' in locked


def test_pagination_keeps_the_search_and_the_filter(console: Console) -> None:
    for n in range(3):
        console.admin.clock.advance(1)  # the list is oldest first
        create_user(console.ctx, f"member{n}@example.com", PASSWORD)
    admin = console.admin
    seen: list[str] = []
    url: str | None = "/admin/users?q=member&two_factor=disabled&per_page=2"
    while url:
        page = admin.get(url).text
        seen += emails(page)
        found = NEXT.search(page)
        url = unescape(found.group(1)) if found else None
        if url:
            assert "q=member" in url and "two_factor=disabled" in url and "per_page=2" in url
    assert seen == ["member0@example.com", "member1@example.com", "member2@example.com"]
    last = admin.get("/admin/users?q=member&two_factor=disabled&per_page=2&page=2").text
    assert "3–3 of 3 accounts · page 2 of 2" in last and 'rel="prev"' in last
    beyond = admin.get("/admin/users?q=member&per_page=2&page=9").text
    assert "No accounts on this page" in beyond and "Back to the first page" in beyond
    assert admin.get("/admin/users?page=0").status_code == 400
    assert admin.get("/admin/users?per_page=500").status_code == 400


def test_the_detail_page_shows_devices_codes_sessions_and_events(console: Console) -> None:
    page = console.admin.get(f"/admin/users/{console.user_id}")
    assert page.status_code == 200
    html = page.text
    assert f"<h1>{EMAIL}" in html
    assert "2FA on" in html and '<th scope="row" data-label="Name">Phone</th>' in html
    assert "<strong>10 of 10</strong> unused" in html
    assert "1 live" in html
    assert "device.confirm" in html and "session.created" in html
    assert f'href="/admin/audit?user={console.user_id}"' in html
    actions = re.findall(r'href="/admin/users/[^/"]+/([a-z0-9-]+)"', html)
    assert actions == ["reset-2fa", "unlock", "revoke-sessions", "deactivate", "make-admin"]


def test_the_detail_page_shows_a_lock(console: Console) -> None:
    lock_out(console)
    html = console.admin.get(f"/admin/users/{console.user_id}").text
    assert "Locked out of second-factor checks until" in html
    assert f"after {console.ctx.settings.lockout_threshold} wrong codes" in html


def test_own_page_offers_no_self_deactivation_and_unknown_ids_are_404(console: Console) -> None:
    own = console.admin.get(f"/admin/users/{console.admin_id}").text
    assert "(you)" in own and "/deactivate" not in own and "remove-admin" in own
    missing = console.admin.get("/admin/users/not-an-account")
    assert missing.status_code == 404 and "No such account" in missing.text


def test_the_list_shows_the_last_sign_in_and_sorts_by_it(console: Console) -> None:
    create_user(console.ctx, "never@example.com", PASSWORD)
    console.admin.clock.advance(3600)
    user = console.user  # robin signs in again, an hour after everyone else
    user.submit("/logout", {}, form_page="/account")
    user.login()
    user.submit("/login/2fa", {"code": user.code()}, form_page="/login/2fa")
    admin = console.admin

    page = admin.get("/admin/users").text
    assert '<th scope="col" aria-sort="descending">Last sign-in</th>' not in page
    assert ">Last sign-in</th>" in page and ">Never</span>" in page
    at = f"{admin.clock.now():%Y-%m-%d %H:%M}"
    robin = page[page.index(EMAIL) :]
    assert robin[: robin.index("</tr>")].count(at) == 1  # the new sign-in, in UTC

    recent = emails(admin.get("/admin/users?sort=last_sign_in").text)
    assert recent == [EMAIL, ADMIN, "never@example.com"]
    idle = emails(admin.get("/admin/users?sort=idle").text)
    assert idle == ["never@example.com", ADMIN, EMAIL]
    assert emails(admin.get("/admin/users?sort=email").text) == sorted(recent)
    assert emails(admin.get("/admin/users?sort=newest").text) == ["never@example.com", ADMIN, EMAIL]
    assert emails(admin.get("/admin/users?sort=bogus").text) == [EMAIL, ADMIN, "never@example.com"]
    sorted_page = admin.get("/admin/users?sort=idle&per_page=1").text
    found = NEXT.search(sorted_page)
    assert found is not None and "sort=idle" in unescape(found.group(1))


def test_an_unknown_account_keeps_the_console_header_and_offers_the_list(
    console: Console,
) -> None:
    gone = console.admin.get("/admin/users/00000000-0000-4000-8000-000000000000")
    assert gone.status_code == 404
    assert 'class="site-nav"' in gone.text and ADMIN in gone.text
    assert 'href="/admin/users">Back to the user list</a>' in gone.text
    assert "Go to sign in" not in gone.text
