"""Remember this browser: the password alone completes a sign-in on a remembered browser.

The session then says ``remembered`` in its ``amr``: a second factor was proven earlier, not
now, so it proves no second factor, sets no ``second_factor_at`` and no elevation. Every
change that should make the owner prove a factor again forgets all of the user's browsers.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

import pytest

from tests.services.conftest import ORIGIN, PASSWORD, Enrolled, code_at
from tests.services.support import add_device, challenge_id, elevate_now
from twostep.clock import ManualClock
from twostep.errors import ElevationRequired, Forbidden
from twostep.mail import MemoryMailer
from twostep.security.tokens import proves_second_factor
from twostep.services import accounts, admin, devices, login, remembered, reset, sessions
from twostep.services.context import Context
from twostep.store import audit, users

PrincipalFor = Callable[[users.User], sessions.Principal]


def sign_in_and_remember(ctx: Context, enrolled: Enrolled, clock: ManualClock) -> str:
    """A sign-in with a code that ticks "remember this browser"; the browser's token."""
    issued = login.complete(ctx, challenge_id(ctx), ORIGIN, code=code_at(enrolled.secret, clock))
    clock.advance(30)
    return remembered.remember(ctx, issued.session, ORIGIN).token


def password_step(
    ctx: Context, token: str | None, email: str = "alice@example.com"
) -> login.LoginResult:
    return login.login(ctx, email, PASSWORD, ORIGIN, device_token=token)


def test_a_remembered_browser_skips_the_code_but_proves_no_second_factor(
    ctx: Context, enrolled: Enrolled, clock: ManualClock
) -> None:
    token = sign_in_and_remember(ctx, enrolled, clock)
    result = password_step(ctx, token)
    assert isinstance(result, sessions.IssuedSession)
    session = result.session
    assert list(session.amr) == ["pwd", "remembered"]
    assert not proves_second_factor(session.amr)
    assert session.second_factor_at is None and session.elevated_until is None
    principal = sessions.resolve(ctx, session.id)
    with pytest.raises(ElevationRequired):  # never a step-up
        sessions.require_elevated(principal, clock.now())
    assert [b.user_agent for b in remembered.list_browsers(ctx, principal)] == [
        "pytest-browser/1.0"
    ]


def test_a_wrong_expired_or_foreign_token_still_asks_for_the_code(
    ctx: Context, enrolled: Enrolled, clock: ManualClock, make_user: Callable[..., users.User]
) -> None:
    token = sign_in_and_remember(ctx, enrolled, clock)
    assert isinstance(password_step(ctx, token + "x"), login.ChallengeIssued)
    assert isinstance(password_step(ctx, "\x00" * 400), login.ChallengeIssued)
    make_user("bob@example.com")
    bob = password_step(ctx, token, "bob@example.com")  # no 2FA: not "remembered" either
    assert isinstance(bob, sessions.IssuedSession) and list(bob.session.amr) == ["pwd"]
    clock.advance(31 * 86400)
    assert isinstance(password_step(ctx, token), login.ChallengeIssued)


def test_only_a_sign_in_with_a_second_factor_is_remembered(
    ctx: Context, enrolled: Enrolled, clock: ManualClock
) -> None:
    token = sign_in_and_remember(ctx, enrolled, clock)
    skipped = password_step(ctx, token)
    assert isinstance(skipped, sessions.IssuedSession)
    with pytest.raises(Forbidden):  # a remembered sign-in cannot extend itself
        remembered.remember(ctx, skipped.session, ORIGIN)


def test_remember_days_zero_turns_it_off(
    ctx: Context, enrolled: Enrolled, clock: ManualClock
) -> None:
    token = sign_in_and_remember(ctx, enrolled, clock)
    ctx.settings.remember_days = 0
    assert isinstance(password_step(ctx, token), login.ChallengeIssued)
    issued = login.complete(ctx, challenge_id(ctx), ORIGIN, code=code_at(enrolled.secret, clock))
    with pytest.raises(Forbidden):
        remembered.remember(ctx, issued.session, ORIGIN)


def _forgotten(ctx: Context, reason: str) -> None:
    with ctx.db.transaction(readonly=True) as tx:
        (row,) = audit.query(tx, event="browser.forgotten_all")
    assert row.details is not None and row.details["reason"] == reason


def test_a_password_change_forgets_every_browser(
    ctx: Context, enrolled: Enrolled, clock: ManualClock, principal_for: PrincipalFor
) -> None:
    token = sign_in_and_remember(ctx, enrolled, clock)
    principal = elevate_now(ctx, principal_for(enrolled.user), enrolled.secret, clock)
    new_password = "a brand new passphrase 2026"
    accounts.change_password(ctx, principal, PASSWORD, new_password, ORIGIN)
    result = login.login(ctx, enrolled.user.email, new_password, ORIGIN, device_token=token)
    assert isinstance(result, login.ChallengeIssued)
    _forgotten(ctx, "password_changed")


def test_a_password_reset_forgets_every_browser(
    ctx: Context, enrolled: Enrolled, clock: ManualClock, mailer: MemoryMailer
) -> None:
    token = sign_in_and_remember(ctx, enrolled, clock)
    reset.request_reset(ctx, enrolled.user.email, ORIGIN)
    found = re.search(r"reset-password\?token=(\S+)", mailer.last().text)
    assert found is not None
    new_password = "a brand new passphrase 2026"
    reset.complete_reset(
        ctx, found.group(1), new_password, ORIGIN, code=code_at(enrolled.secret, clock)
    )
    result = login.login(ctx, enrolled.user.email, new_password, ORIGIN, device_token=token)
    assert isinstance(result, login.ChallengeIssued)
    _forgotten(ctx, "password_reset")


def test_turning_two_factor_off_forgets_every_browser(
    ctx: Context, enrolled: Enrolled, clock: ManualClock, principal_for: PrincipalFor
) -> None:
    token = sign_in_and_remember(ctx, enrolled, clock)
    principal = elevate_now(ctx, principal_for(enrolled.user), enrolled.secret, clock)
    devices.disable_two_factor(ctx, principal, ORIGIN)
    result = password_step(ctx, token)  # no 2FA now: a plain session, never "remembered"
    assert isinstance(result, sessions.IssuedSession) and list(result.session.amr) == ["pwd"]
    assert remembered.list_browsers(ctx, principal) == []
    _forgotten(ctx, "two_factor_off")


def test_an_admin_reset_forgets_every_browser(
    ctx: Context, enrolled: Enrolled, clock: ManualClock, principal_for: PrincipalFor,
    make_user: Callable[..., users.User],
) -> None:  # fmt: skip
    token = sign_in_and_remember(ctx, enrolled, clock)
    root = principal_for(make_user("root@example.com", role="admin"))
    _, secret = add_device(ctx, root, clock, "Admin phone")
    clock.advance(30)
    root = elevate_now(ctx, root, secret, clock)
    admin.reset_two_factor(ctx, root, enrolled.user.id, ORIGIN)
    result = password_step(ctx, token)
    assert isinstance(result, sessions.IssuedSession) and result.session.purpose == "enroll"
    _forgotten(ctx, "admin_reset")


def test_the_owner_forgets_one_browser(
    ctx: Context, enrolled: Enrolled, clock: ManualClock, principal_for: PrincipalFor
) -> None:
    token = sign_in_and_remember(ctx, enrolled, clock)
    principal = principal_for(enrolled.user)
    (browser,) = remembered.list_browsers(ctx, principal)
    remembered.forget(ctx, principal, browser.id, ORIGIN)
    assert isinstance(password_step(ctx, token), login.ChallengeIssued)
    assert clock.now() - browser.created_at < timedelta(minutes=5)
