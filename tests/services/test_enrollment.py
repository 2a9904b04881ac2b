"""Enrolling an authenticator, on SQLite and PostgreSQL (DESIGN §4.3, §4.7).

Two invariants live here: adding a device while one is active needs an elevated session,
and a wrong confirming code is counted against the same per-account lockout as sign-in.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from tests.services.conftest import ORIGIN, PASSWORD, Enrolled, code_at
from tests.services.support import elevate_now, wrong_code
from twostep.clock import ManualClock
from twostep.errors import ElevationRequired, InvalidCode, TooManyAttempts
from twostep.services import enrollment, login, sessions, step_up
from twostep.services.context import Context
from twostep.store import audit, devices, users

PrincipalFor = Callable[[users.User], sessions.Principal]


def device_statuses(ctx: Context, user_id: str) -> list[str]:
    with ctx.db.transaction(readonly=True) as tx:
        return sorted(d.status for d in devices.list_for_user(tx, user_id))


def test_the_first_device_needs_no_elevation_and_brings_backup_codes(
    ctx: Context,
    clock: ManualClock,
    make_user: Callable[..., users.User],
    principal_for: PrincipalFor,
) -> None:
    user = make_user()
    principal = principal_for(user)
    started = enrollment.begin(ctx, principal, "Phone", ORIGIN)
    assert device_statuses(ctx, user.id) == ["pending"]
    done = enrollment.confirm(
        ctx, principal, started.device_id, code_at(started.secret, clock), ORIGIN
    )
    assert done.device_id == started.device_id
    assert done.backup_codes is not None and len(done.backup_codes) == 10
    assert device_statuses(ctx, user.id) == ["active"]


def test_adding_a_device_while_one_is_active_needs_an_elevated_session(
    ctx: Context, enrolled: Enrolled, principal_for: PrincipalFor
) -> None:
    principal = principal_for(enrolled.user)
    with pytest.raises(ElevationRequired):
        enrollment.begin(ctx, principal, "Tablet", ORIGIN)
    assert device_statuses(ctx, enrolled.user.id) == ["active"]  # nothing was created
    with ctx.db.transaction(readonly=True) as tx:
        started = audit.query(tx, event="device.enroll_started", user_id=enrolled.user.id)
    assert [event.details["device_id"] for event in started] == [enrolled.device_id]


def test_an_elevated_session_adds_a_second_device_without_new_backup_codes(
    ctx: Context, enrolled: Enrolled, clock: ManualClock, principal_for: PrincipalFor
) -> None:
    principal = elevate_now(ctx, principal_for(enrolled.user), enrolled.secret, clock)
    started = enrollment.begin(ctx, principal, "Tablet", ORIGIN)
    done = enrollment.confirm(
        ctx, principal, started.device_id, code_at(started.secret, clock), ORIGIN
    )
    assert done.backup_codes is None
    assert device_statuses(ctx, enrolled.user.id) == ["active", "active"]


def test_the_elevation_for_a_second_device_lapses(
    ctx: Context, enrolled: Enrolled, clock: ManualClock, principal_for: PrincipalFor
) -> None:
    principal = elevate_now(ctx, principal_for(enrolled.user), enrolled.secret, clock)
    clock.advance(ctx.settings.elevation_minutes * 60)
    with pytest.raises(ElevationRequired):
        enrollment.begin(ctx, principal, "Tablet", ORIGIN)
    assert device_statuses(ctx, enrolled.user.id) == ["active"]


def test_wrong_confirming_codes_lock_the_account_and_then_the_right_code_is_refused(
    ctx: Context,
    clock: ManualClock,
    make_user: Callable[..., users.User],
    principal_for: PrincipalFor,
) -> None:
    user = make_user()
    principal = principal_for(user)
    started = enrollment.begin(ctx, principal, "Phone", ORIGIN)
    wrong = wrong_code(started.secret, clock)
    threshold = ctx.settings.lockout_threshold
    for _ in range(threshold - 1):
        with pytest.raises(InvalidCode):
            enrollment.confirm(ctx, principal, started.device_id, wrong, ORIGIN)
    with pytest.raises(TooManyAttempts) as locked:
        enrollment.confirm(ctx, principal, started.device_id, wrong, ORIGIN)
    assert locked.value.retry_after == ctx.settings.lockout_minutes * 60

    clock.advance(60)
    with pytest.raises(TooManyAttempts) as refused:
        enrollment.confirm(
            ctx, principal, started.device_id, code_at(started.secret, clock), ORIGIN
        )
    assert refused.value.retry_after == (ctx.settings.lockout_minutes - 1) * 60
    assert device_statuses(ctx, user.id) == ["pending"]
    with ctx.db.transaction(readonly=True) as tx:
        failures = audit.query(tx, event="device.confirm", outcome="failure")
    assert len(failures) == threshold

    clock.advance(ctx.settings.lockout_minutes * 60)  # the lock lapses
    done = enrollment.confirm(
        ctx, principal, started.device_id, code_at(started.secret, clock), ORIGIN
    )
    assert done.backup_codes is not None
    assert device_statuses(ctx, user.id) == ["active"]


def test_wrong_confirming_codes_count_on_the_same_counter_as_sign_in(
    ctx: Context, enrolled: Enrolled, clock: ManualClock, principal_for: PrincipalFor
) -> None:
    principal = elevate_now(ctx, principal_for(enrolled.user), enrolled.secret, clock)
    started = enrollment.begin(ctx, principal, "Tablet", ORIGIN)
    for _ in range(ctx.settings.lockout_threshold):
        with pytest.raises((InvalidCode, TooManyAttempts)):
            enrollment.confirm(
                ctx, principal, started.device_id, wrong_code(started.secret, clock), ORIGIN
            )
    clock.advance(30)
    challenge = login.login(ctx, enrolled.user.email, PASSWORD, ORIGIN)
    assert isinstance(challenge, login.ChallengeIssued)
    with pytest.raises(TooManyAttempts):
        login.complete(ctx, challenge.challenge_id, ORIGIN, code=code_at(enrolled.secret, clock))
    with pytest.raises(TooManyAttempts):
        step_up.step_up(
            ctx, principal_for(enrolled.user), ORIGIN, backup_code=enrolled.backup_codes[0]
        )


def test_a_lock_from_sign_in_refuses_the_right_confirming_code(
    ctx: Context, enrolled: Enrolled, clock: ManualClock, principal_for: PrincipalFor
) -> None:
    principal = elevate_now(ctx, principal_for(enrolled.user), enrolled.secret, clock)
    started = enrollment.begin(ctx, principal, "Tablet", ORIGIN)
    for _ in range(ctx.settings.lockout_threshold):
        challenge = login.login(ctx, enrolled.user.email, PASSWORD, ORIGIN)
        assert isinstance(challenge, login.ChallengeIssued)
        with pytest.raises((InvalidCode, TooManyAttempts)):
            login.complete(
                ctx, challenge.challenge_id, ORIGIN, code=wrong_code(enrolled.secret, clock)
            )
    clock.advance(30)
    with pytest.raises(TooManyAttempts):
        enrollment.confirm(
            ctx, principal, started.device_id, code_at(started.secret, clock), ORIGIN
        )
    assert device_statuses(ctx, enrolled.user.id) == ["active", "pending"]


def test_a_right_confirming_code_clears_the_failures(
    ctx: Context,
    clock: ManualClock,
    make_user: Callable[..., users.User],
    principal_for: PrincipalFor,
) -> None:
    user = make_user()
    principal = principal_for(user)
    started = enrollment.begin(ctx, principal, "Phone", ORIGIN)
    for _ in range(ctx.settings.lockout_threshold - 1):
        with pytest.raises(InvalidCode):
            enrollment.confirm(
                ctx, principal, started.device_id, wrong_code(started.secret, clock), ORIGIN
            )
    enrollment.confirm(ctx, principal, started.device_id, code_at(started.secret, clock), ORIGIN)
    clock.advance(30)
    challenge = login.login(ctx, user.email, PASSWORD, ORIGIN)
    assert isinstance(challenge, login.ChallengeIssued)
    with pytest.raises(InvalidCode):  # one failure, not the fifth: the run was ended
        login.complete(ctx, challenge.challenge_id, ORIGIN, code=wrong_code(started.secret, clock))


def test_the_confirming_code_cannot_then_sign_in(
    ctx: Context,
    clock: ManualClock,
    make_user: Callable[..., users.User],
    principal_for: PrincipalFor,
) -> None:
    user = make_user()
    started = enrollment.begin(ctx, principal_for(user), "Phone", ORIGIN)
    code = code_at(started.secret, clock)
    enrollment.confirm(ctx, principal_for(user), started.device_id, code, ORIGIN)
    clock.advance(1)
    challenge = login.login(ctx, user.email, PASSWORD, ORIGIN)
    assert isinstance(challenge, login.ChallengeIssued)
    with pytest.raises(InvalidCode):
        login.complete(ctx, challenge.challenge_id, ORIGIN, code=code)


def test_a_failed_confirmation_is_audited_without_the_code(
    ctx: Context,
    clock: ManualClock,
    make_user: Callable[..., users.User],
    principal_for: PrincipalFor,
) -> None:
    """DESIGN §4.11: the audit log says what happened, never which code was typed."""
    user = make_user()
    principal = principal_for(user)
    started = enrollment.begin(ctx, principal, "Phone", ORIGIN)
    wrong = wrong_code(started.secret, clock)
    with pytest.raises(InvalidCode):
        enrollment.confirm(ctx, principal, started.device_id, wrong, ORIGIN)
    with ctx.db.transaction(readonly=True) as tx:
        (failure,) = audit.query(tx, event="device.confirm", outcome="failure")
        every = audit.query(tx, user_id=user.id)
    assert failure.details == {"device_id": started.device_id}
    assert (failure.ip, failure.user_agent) == (ORIGIN.ip, ORIGIN.user_agent)
    for event in every:
        assert wrong not in json.dumps(event.details), event.event
