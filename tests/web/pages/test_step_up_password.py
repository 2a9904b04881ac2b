"""An account without a second factor confirms a sensitive change with its password."""

from __future__ import annotations

from tests.web.pages.conftest import PASSWORD, Site


def test_password_step_up_then_password_change(site: Site) -> None:
    site.register()
    assert site.login().status_code == 303
    first = site.get("/account/password")
    assert first.status_code == 303 and first.headers["location"].startswith("/step-up")
    page = site.client.get(first.headers["location"])
    assert 'name="password"' in page.text and 'autocomplete="current-password"' in page.text

    wrong = site.submit(
        "/step-up", {"password": "not my password", "next": "/account/password"},
        form_page="/account",
    )  # fmt: skip
    assert wrong.status_code == 401
    done = site.submit(
        "/step-up", {"password": PASSWORD, "next": "/account/password"}, form_page="/account"
    )
    assert done.status_code == 303 and done.headers["location"] == "/account/password"
    assert site.get("/account/password").status_code == 200

    changed = site.submit(
        "/account/password",
        {"current_password": PASSWORD, "new_password": "a different long passphrase"},
        form_page="/account",
    )
    assert changed.status_code == 303, changed.text
    assert "password-changed" in changed.headers["location"]
