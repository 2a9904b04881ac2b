"""Actions on an account: confirmed, only after a step-up, audited, with a result message."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from tests.web.admin.conftest import EMAIL, Console, ConsoleFactory
from twostep.mail import MemoryMailer


def test_reset_2fa_needs_a_step_up_then_a_confirmation_and_is_audited(console: Console) -> None:
    admin, url = console.admin, console.confirm_url("reset-2fa")
    asked = admin.get(url)
    assert asked.status_code == 303
    assert asked.headers["location"] == f"/step-up?next={quote(url, safe='/')}"
    console.step_up(url)
    page = admin.get(url)
    assert page.status_code == 200
    assert f"Reset two-step verification for {EMAIL}?" in page.text
    assert 'name="attested"' in page.text and "required" in page.text

    unattested = console.act("reset-2fa")
    assert unattested.status_code == 422 and "Tick the box" in unattested.text
    assert console.events("admin.two_factor_reset") == []

    done = console.act("reset-2fa", attested="yes")
    assert done.status_code == 303
    assert done.headers["location"] == f"/admin/users/{console.user_id}?done=two-factor-reset"
    detail = admin.get(done.headers["location"]).text
    assert "Two-step verification was reset for" in detail and "2FA off" in detail
    [row] = console.events("admin.two_factor_reset")
    assert (row.user_id, row.actor_id) == (console.user_id, console.admin_id)
    assert row.details["devices_removed"] == 1 and row.details["sessions_revoked"] == 1
    assert isinstance(console.user.mailer, MemoryMailer)
    assert console.user.mailer.to(EMAIL)[-1].tag == "two_factor_reset_by_admin"

    # The user was signed out; their next sign-in may only set up a new authenticator.
    assert console.user.get("/account").headers["location"] == "/login?next=/account"
    assert console.user.login().headers["location"] == "/enroll"
    assert len(console.user.enroll()) == 10


def test_with_mfa_required_the_reset_user_must_enroll_again(make_console: ConsoleFactory) -> None:
    console = make_console(mfa="required")
    console.step_up(console.confirm_url("reset-2fa"))
    assert console.act("reset-2fa", attested="yes").status_code == 303
    assert console.user.login().headers["location"] == "/enroll"
    assert console.user.get("/account").headers["location"] == "/enroll"
    assert len(console.user.enroll()) == 10
    assert console.user.get("/account").status_code == 200


def test_an_expired_step_up_sends_the_admin_back_to_confirm(console: Console) -> None:
    url = console.confirm_url("revoke-sessions")
    console.step_up(url)
    token = console.admin.token(url)
    console.admin.clock.advance(console.ctx.settings.elevation_minutes * 60 + 1)
    reply = console.admin.client.post(url, data={"csrf_token": token}, follow_redirects=False)
    assert reply.headers["location"] == f"/step-up?next={quote(url, safe='/')}"
    assert console.events("admin.sessions_revoked") == []


def test_a_post_without_the_csrf_token_is_refused(console: Console) -> None:
    url = console.confirm_url("deactivate")
    console.step_up(url)
    reply = console.admin.client.post(url, data={}, follow_redirects=False)
    assert reply.status_code == 403
    assert console.account().is_active


@pytest.mark.parametrize(
    ("slug", "event", "message"),
    [
        ("unlock", "admin.unlocked", "was not locked out"),
        ("revoke-sessions", "admin.sessions_revoked", "signed out of 1 session."),
        ("deactivate", "admin.user_deactivated", "was deactivated and signed out"),
        ("make-admin", "admin.role_changed", "is now an administrator"),
    ],
)
def test_each_action_changes_the_account_and_writes_one_audit_row(
    console: Console, slug: str, event: str, message: str
) -> None:
    url = console.confirm_url(slug)
    console.step_up(url)
    assert console.admin.get(url).status_code == 200
    done = console.act(slug)
    assert done.status_code == 303, done.text
    page = console.admin.get(done.headers["location"])
    assert message in page.text
    [row] = console.events(event)
    assert (row.user_id, row.actor_id, row.outcome) == (
        console.user_id, console.admin_id, "success",
    )  # fmt: skip
    account = console.account()
    assert account.is_active is (slug != "deactivate")
    assert account.role == ("admin" if slug == "make-admin" else "user")


def test_reactivate_and_remove_admin_undo_their_counterparts(console: Console) -> None:
    url = console.confirm_url("deactivate")
    console.step_up(url)
    for slug in ("deactivate", "reactivate", "make-admin", "remove-admin"):
        assert console.act(slug).status_code == 303, slug
    account = console.account()
    assert account.is_active and account.role == "user"
    assert len(console.events("admin.role_changed")) == 2
    assert console.user.login().headers["location"] == "/login/2fa"  # can sign in again


def test_unlock_lifts_a_real_lockout(console: Console) -> None:
    user = console.user
    user.submit("/logout", {}, form_page="/account")
    user.login()
    for _ in range(console.ctx.settings.lockout_threshold):
        user.submit("/login/2fa", {"code": "000000"}, form_page="/login")
    assert user.login().headers["location"] == "/login/2fa"
    refused = user.submit("/login/2fa", {"code": user.code()}, form_page="/login")
    assert refused.status_code == 429  # locked: even the right code is refused

    console.step_up(console.confirm_url("unlock"))
    done = console.act("unlock")
    assert "was unlocked" in console.admin.get(done.headers["location"]).text
    user.login()
    accepted = user.submit("/login/2fa", {"code": user.code()}, form_page="/login/2fa")
    assert accepted.headers["location"] == "/account"


def test_the_last_admin_cannot_remove_their_own_role_or_deactivate_themselves(
    console: Console,
) -> None:
    url = console.confirm_url("remove-admin", console.admin_id)
    console.step_up(url)
    refused = console.act("remove-admin", console.admin_id)
    assert refused.status_code == 403
    assert "last administrator" in refused.text and "Remove administrator rights" in refused.text
    assert console.account(console.admin_id).role == "admin"
    own = console.act("deactivate", console.admin_id)
    assert own.status_code == 403 and "cannot deactivate your own account" in own.text


def test_an_admin_who_gives_up_the_role_loses_the_console_at_once(console: Console) -> None:
    console.step_up(console.confirm_url("make-admin"))
    assert console.act("make-admin").status_code == 303
    done = console.act("remove-admin", console.admin_id)
    assert done.headers["location"] == "/account"
    assert console.admin.get("/admin").status_code == 403
    # The new admin signed in with a password alone: the console asks for a code first.
    assert console.user.get("/admin").headers["location"] == "/step-up?next=/admin"
    stepped = console.user.submit(
        "/step-up", {"code": console.user.code(), "next": "/admin"}, form_page="/step-up"
    )
    assert stepped.headers["location"] == "/admin"
    assert console.user.get("/admin").status_code == 200
    changes = {(e.user_id, e.details["to"]) for e in console.events("admin.role_changed")}
    assert changes == {(console.user_id, "admin"), (console.admin_id, "user")}


def test_unknown_actions_and_accounts_are_404(console: Console) -> None:
    console.step_up("/admin/users")
    assert console.admin.get(console.confirm_url("explode")).status_code == 404
    missing = console.admin.get(console.confirm_url("unlock", "no-such-account"))
    assert missing.status_code == 404
    url = console.confirm_url("unlock", "no-such-account")
    assert console.admin.submit(url, {}, form_page="/admin/users").status_code == 404
