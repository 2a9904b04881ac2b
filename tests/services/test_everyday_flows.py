"""Everyday sign-in flows: a sign-in with a second factor is a step-up, refused codes say why,
locks say when they end, a reset with a code signs the owner in."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from tests.services.conftest import ORIGIN, PASSWORD, Enrolled, code_at
from tests.services.test_reset import NEW_PASSWORD, requested
from twostep.clock import ManualClock
from twostep.errors import ChallengeExpired, InvalidCode, TooManyAttempts, Unauthenticated
from twostep.mail import MemoryMailer
from twostep.services import devices, login, reset, sessions, step_up
from twostep.services.context import Context
from twostep.store import users


def _challenge(ctx: Context) -> str:
    result = login.login(ctx, "alice@example.com", PASSWORD, ORIGIN)
    assert isinstance(result, login.ChallengeIssued)
    return result.challenge_id


def test_a_sign_in_with_a_second_factor_is_elevated_for_the_window(
    ctx: Context, enrolled: Enrolled, clock: ManualClock
) -> None:
    issued = login.complete(ctx, _challenge(ctx), ORIGIN, code=code_at(enrolled.secret, clock))
    at = clock.now()
    minutes = ctx.settings.elevation_minutes
    assert issued.session.elevated_until == at + timedelta(minutes=minutes)
    principal = sessions.resolve(ctx, issued.session.id)
    sessions.require_elevated(principal, at)  # no second code a minute later
    devices.disable_two_factor(ctx, principal, ORIGIN)  # a sensitive change goes through


def test_the_elevation_of_a_sign_in_ends_with_its_window(
    ctx: Context, enrolled: Enrolled, clock: ManualClock
) -> None:
    issued = login.complete(ctx, _challenge(ctx), ORIGIN, code=code_at(enrolled.secret, clock))
    clock.advance(ctx.settings.elevation_minutes * 60)
    principal = sessions.resolve(ctx, issued.session.id)
    assert not principal.is_elevated(clock.now())


def test_a_password_only_sign_in_is_not_elevated(
    ctx: Context, make_user: Callable[..., users.User]
) -> None:
    make_user()
    result = login.login(ctx, "alice@example.com", PASSWORD, ORIGIN)
    assert isinstance(result, sessions.IssuedSession)
    assert result.session.elevated_until is None


def test_the_code_just_used_is_refused_as_already_used(
    ctx: Context, enrolled: Enrolled, clock: ManualClock
) -> None:
    code = code_at(enrolled.secret, clock)
    issued = login.complete(ctx, _challenge(ctx), ORIGIN, code=code)
    principal = sessions.resolve(ctx, issued.session.id)
    with pytest.raises(InvalidCode) as used:
        step_up.step_up(ctx, principal, ORIGIN, code=code)
    assert used.value.reason == "already_used"
    assert used.value.message == "That code was just used. Wait for the next one in your app."
    wrong = "000000" if code != "000000" else "111111"
    with pytest.raises(InvalidCode) as refused:
        step_up.step_up(ctx, principal, ORIGIN, code=wrong)
    assert refused.value.reason == "wrong"
    assert "authenticator code" in refused.value.message
    with pytest.raises(InvalidCode) as backup:
        step_up.step_up(ctx, principal, ORIGIN, backup_code="AAAA-BBBB-CCCC")
    assert "backup code" in backup.value.message


def test_refused_codes_count_down_the_attempts_left(ctx: Context, enrolled: Enrolled) -> None:
    threshold = ctx.settings.lockout_threshold
    left = []
    for _ in range(threshold - 1):
        with pytest.raises(InvalidCode) as caught:
            login.complete(ctx, _challenge(ctx), ORIGIN, code="000000")
        left.append(caught.value.attempts_left)
    assert left == list(range(threshold - 1, 0, -1))
    with pytest.raises(TooManyAttempts) as locked:
        login.complete(ctx, _challenge(ctx), ORIGIN, code="000000")
    assert locked.value.locked


def test_a_locked_account_is_told_it_is_locked_not_that_sign_in_expired(
    ctx: Context, enrolled: Enrolled, clock: ManualClock
) -> None:
    challenge = _challenge(ctx)
    for _ in range(ctx.settings.lockout_threshold):
        with pytest.raises((InvalidCode, TooManyAttempts)):
            login.complete(ctx, challenge, ORIGIN, code="000000")
    assert login.challenge_lock(ctx, challenge) == ctx.settings.lockout_minutes * 60
    with pytest.raises(TooManyAttempts) as caught:  # past the challenge's own tries
        login.complete(ctx, challenge, ORIGIN, code=code_at(enrolled.secret, clock))
    assert caught.value.locked
    clock.advance(ctx.settings.lockout_minutes * 60)
    assert login.challenge_lock(ctx, challenge) == 0
    with pytest.raises(ChallengeExpired):  # unlocked: now the challenge's own limit speaks
        login.complete(ctx, challenge, ORIGIN, code=code_at(enrolled.secret, clock))


def test_a_reset_with_a_code_signs_the_owner_in_elevated(
    ctx: Context, enrolled: Enrolled, clock: ManualClock, mailer: MemoryMailer
) -> None:
    old = login.complete(ctx, _challenge(ctx), ORIGIN, code=code_at(enrolled.secret, clock))
    clock.advance(30)
    token = requested(ctx, mailer)
    issued = reset.complete_reset(
        ctx, token, NEW_PASSWORD, ORIGIN, code=code_at(enrolled.secret, clock)
    )
    assert issued is not None
    assert issued.session.amr == ("email", "otp")
    until = clock.now() + timedelta(minutes=ctx.settings.elevation_minutes)
    assert issued.session.elevated_until == until
    sessions.require_elevated(sessions.resolve(ctx, issued.session.id), clock.now())
    with pytest.raises(Unauthenticated):  # every earlier session ended
        sessions.resolve(ctx, old.session.id)


def test_a_reset_by_link_alone_signs_nobody_in(
    ctx: Context, make_user: Callable[..., users.User], mailer: MemoryMailer
) -> None:
    make_user()
    token = requested(ctx, mailer)
    assert reset.complete_reset(ctx, token, NEW_PASSWORD, ORIGIN) is None
