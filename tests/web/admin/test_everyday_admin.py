"""An admin's reset leads to enrolment; the console needs a second factor."""

from __future__ import annotations

from tests.web.admin.conftest import ADMIN, Console, context_of
from tests.web.conftest import PASSWORD
from tests.web.pages.conftest import Site, SiteFactory
from twostep.services.operations import create_user


def test_an_admin_reset_leads_to_enrolment_with_a_banner(console: Console) -> None:
    console.step_up(console.confirm_url("reset-2fa"))
    done = console.act("reset-2fa", attested="yes")
    assert done.status_code == 303, done.text
    user = console.user
    user.client.cookies.clear()
    landed = user.submit("/login", {"email": "robin@example.com", "password": PASSWORD,
                                    "next": "/account/sessions"})  # fmt: skip
    assert landed.headers["location"].startswith("/enroll?next=")
    page = user.client.get(landed.headers["location"])
    assert "An administrator reset two-step verification" in page.text
    assert user.get("/account").headers["location"] == "/enroll"  # enrolment only
    assert console.account().two_factor_reset_at is not None
    user.secret = ""
    user.enroll()
    assert console.account().two_factor_reset_at is None


def test_an_admin_without_a_second_factor_is_sent_to_enrol(make_site: SiteFactory) -> None:
    site: Site = make_site()
    create_user(context_of(site), ADMIN, PASSWORD, admin=True)
    landed = site.login(ADMIN)
    assert landed.headers["location"].startswith("/enroll")
    assert site.get("/admin").headers["location"] == "/enroll"
    page = site.client.get("/enroll")
    assert "Administrators need two-step verification" in page.text
