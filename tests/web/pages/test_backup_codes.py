"""Backup codes a person can use later: whose they are, how many are left, when to renew."""

from __future__ import annotations

import html
from urllib.parse import unquote

from tests.web.pages.conftest import BACKUP, EMAIL, Site

DOWNLOAD = 'href="data:text/plain;charset=utf-8,'


def _download_text(page: str) -> str:
    start = page.index(DOWNLOAD) + len(DOWNLOAD)
    return unquote(html.unescape(page[start : page.index('"', start)]))


def _sign_in_with_backup(site: Site, code: str) -> str:
    site.submit("/logout", {})
    assert site.login().headers["location"] == "/login/2fa"
    done = site.submit(
        "/login/2fa", {"method": "backup", "backup_code": code}, form_page="/login/2fa"
    )
    assert done.status_code == 303, done.text
    return done.headers["location"]


def test_the_download_and_printout_say_whose_codes_and_which_service(site: Site) -> None:
    codes = site.signed_up()
    site.submit("/step-up", {"code": site.code(), "next": "/account"}, form_page="/step-up")
    fresh = site.submit("/account/backup-codes", {}, form_page="/account/backup-codes")
    new_codes = BACKUP.findall(fresh.text)
    assert len(new_codes) == 10 and not set(new_codes) & set(codes)

    text = _download_text(fresh.text)
    issuer = site.settings.issuer
    assert text.startswith(f"{issuer} backup codes\nAccount: {EMAIL}\n")
    assert all(f"\n{code}\n" in text for code in new_codes)
    # The dated version the browser offers: the day is filled in by the page's script.
    assert "Made: {date}" in html.unescape(fresh.text)
    # The printout: service and account beside the codes (the heading is printed too).
    assert f"<strong>{issuer}</strong> backup codes for <strong>{EMAIL}</strong>" in fresh.text


def test_the_account_page_nudges_when_few_codes_remain(site: Site) -> None:
    codes = site.signed_up()
    page = site.client.get("/account").text
    assert "10 of 10 left" in page and "backup-nudge" not in page
    for code in codes[:7]:
        _sign_in_with_backup(site, code)
    page = site.client.get("/account").text
    assert 'id="backup-nudge"' in page
    assert "3 backup codes left — " in page and "make new ones" in page
    assert "3 left — make new ones." in page


def test_after_a_backup_sign_in_the_account_page_says_how_many_are_left(site: Site) -> None:
    codes = site.signed_up()
    assert _sign_in_with_backup(site, codes[0]) == "/account?notice=backup-used"
    # The count is the account's, whatever the address says.
    page = site.client.get("/account?notice=backup-used&left=99").text
    assert "You signed in with a backup code. 9 backup codes left." in page
    assert "99 backup" not in page
    for code in codes[1:9]:
        _sign_in_with_backup(site, code)
    page = site.client.get("/account?notice=backup-used").text
    assert "You signed in with a backup code. 1 backup code left — make new ones." in page
    _sign_in_with_backup(site, codes[9])
    page = site.client.get("/account?notice=backup-used").text
    assert "You signed in with your last backup code. Make new ones now." in page
    assert "No backup codes left" in page
