"""Deployment policies on the pages: MFA required, enrollment at registration, advice."""

from __future__ import annotations

from tests.web.pages.conftest import EMAIL, Site, SiteFactory


def test_mfa_required_keeps_the_user_on_the_enrollment_until_a_device_works(
    make_site: SiteFactory,
) -> None:
    site = make_site(mfa="required")
    site.register()
    assert site.login().headers["location"] == "/enroll"
    site.verify()
    for path in ("/account", "/step-up", "/account/password"):
        assert site.get(path).headers["location"] == "/enroll", path
    start = site.client.get("/enroll")
    assert start.status_code == 200 and "Not now" not in start.text
    codes = site.enroll()
    assert len(codes) == 10
    account = site.client.get("/account")
    assert account.status_code == 200
    assert "Turn off two-step verification" not in account.text


def test_enrolling_at_registration_leads_from_sign_in_to_the_setup(
    make_site: SiteFactory,
) -> None:
    site = make_site(enroll_at_registration=True)
    site.register()
    assert site.login().headers["location"] == "/enroll"
    assert site.get("/enroll").headers["location"] == "/verify-email?notice=verify-first"
    code = site.mailed(r"\b(\d{6})\b")
    verified = site.submit("/verify-email", {"email": EMAIL, "code": code})
    assert verified.headers["location"] == "/enroll?notice=email-verified"
    start = site.client.get("/enroll")
    assert "Not now" in start.text and "Set up two-step verification" in start.text


def test_an_email_code_signs_in_an_account_without_a_device(site: Site) -> None:
    site.register()
    asked = site.submit("/login/email", {"email": EMAIL})
    assert asked.status_code == 200 and "expires in 10 minutes" in asked.text
    unknown = site.submit("/login/email", {"email": "nobody@example.com"})
    assert unknown.text.replace("nobody@example.com", EMAIL).count("is on its way") == 1
    wrong = site.submit("/login/email/code", {"email": EMAIL, "code": "000000"})
    assert wrong.status_code == 401
    done = site.submit("/login/email/code", {"email": EMAIL, "code": site.mailed(r"(\d{6})")})
    assert done.headers["location"] == "/account"


def test_a_resend_within_the_cooldown_says_when_to_ask_again(site: Site) -> None:
    site.register()
    again = site.submit("/verify-email/resend", {"email": EMAIL})
    assert again.status_code == 200 and "You can ask for another in" in again.text
    assert "The code expires in 10 minutes." in again.text


def test_password_advice_is_live_but_keeps_nothing(site: Site) -> None:
    common = site.client.post("/password-advice", json={"password": "password"}).json()
    assert common["acceptable"] is False and "too common" in common["problem"]
    short = site.client.post("/password-advice", json={"password": "abc"}).json()
    assert "at least 8" in short["problem"]
    good = site.client.post(
        "/password-advice", json={"password": "purple otter sings loudly", "email": EMAIL}
    ).json()
    assert good == {
        "acceptable": True,
        "problem": None,
        "recommended_length_met": True,
        "min_length": 8,
        "recommended_length": 15,
    }
    mine = site.client.post("/password-advice", json={"password": EMAIL, "email": EMAIL}).json()
    assert mine["acceptable"] is False
    assert site.client.post("/password-advice", content=b"{").status_code == 400
    assert site.client.post("/password-advice", json=[1]).status_code == 400
    assert site.client.post("/password-advice", json={"password": 3}).status_code == 400
