"""Sign-up and email verification say what happened, in the terms of the email."""

from __future__ import annotations

from tests.web.pages.conftest import EMAIL, Site

LINK = r"(https://\S+/verify-email\?token=\S+)"


def _link(site: Site) -> str:
    return site.mailed(LINK).replace("https://auth.example.test", "")


def test_a_wrong_emailed_code_points_to_the_email(site: Site) -> None:
    site.register()
    wrong = site.submit(
        "/verify-email",
        {"email": EMAIL, "code": "000000", "password": "correct horse battery staple"},
        form_page="/verify-email",
    )
    assert wrong.status_code == 401
    assert "Check the code in your email" in wrong.text
    assert "authenticator app" not in wrong.text


def test_a_used_link_on_a_confirmed_account_says_so_and_offers_the_account(site: Site) -> None:
    site.register()
    site.login()
    link = _link(site)
    assert site.get(link).status_code == 303
    again = site.get(link)
    assert again.status_code == 400
    assert "Your email is already confirmed" in again.text
    assert 'href="/account"' in again.text
    assert "Check your inbox" not in again.text


def test_a_used_link_for_a_visitor_offers_sign_in(site: Site) -> None:
    site.register()
    link = _link(site)
    token_page = site.get(link)
    assert token_page.status_code == 200
    done = site.submit(
        "/verify-email",
        {"token": link.partition("token=")[2], "password": "correct horse battery staple"},
        form_page="/verify-email",
    )
    assert done.headers["location"].startswith("/login?notice=verified")
    again = site.get(link)
    assert again.status_code == 400
    assert "This link has already been used" in again.text
    assert "there is nothing more to do" in again.text
    assert 'href="/login">Sign in</a>' in again.text


def test_after_verifying_a_signed_in_user_is_told_what_comes_next(site: Site) -> None:
    site.register()
    site.login()
    site.verify()
    page = site.client.get("/account?notice=email-verified").text
    assert "Your email address is confirmed. Next, set up two-step verification" in page
