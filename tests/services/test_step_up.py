"""Step-up with a TOTP or backup code, on SQLite and PostgreSQL (DESIGN §4.7)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

import pytest

from tests.services.conftest import ORIGIN, PASSWORD, Enrolled, code_at
from tests.services.support import elevate_now
from twostep.clock import ManualClock
from twostep.errors import (
    ElevationRequired,
    EnrollmentRequired,
    InvalidCode,
    InvalidCredentials,
    InvalidInput,
    InvalidToken,
    TooManyAttempts,
    Unauthenticated,
)
from twostep.mail import MemoryMailer
from twostep.services import sessions, step_up
from twostep.services.context import Context
from twostep.store import audit, backup_codes, users
from twostep.store import sessions as session_store


def test_a_code_elevates_the_session_for_fifteen_minutes(
    ctx: Context,
    enrolled: Enrolled,
    clock: ManualClock,
    principal_for: Callable[[users.User], sessions.Principal],
) -> None:
    principal = principal_for(enrolled.user)
    with pytest.raises(ElevationRequired):
        sessions.require_elevated(principal, clock.now())
    granted = step_up.step_up(ctx, principal, ORIGIN, code=code_at(enrolled.secret, clock))
    assert granted.elevated_until == clock.now() + timedelta(minutes=15)
    assert granted.expires_in == 15 * 60

    elevated = sessions.resolve(ctx, principal.session.id)
    assert elevated.session.elevated_until == granted.elevated_until
    sessions.require_elevated(elevated, clock.now())
    clock.advance(15 * 60 - 1)
    sessions.require_elevated(elevated, clock.now())
    clock.advance(1)
    with pytest.raises(ElevationRequired):
        sessions.require_elevated(elevated, clock.now())

    with ctx.db.transaction(readonly=True) as tx:
        (event,) = audit.query(tx, event="session.elevated")
    assert event.user_id == enrolled.user.id
    assert event.details["method"] == "otp"
    assert event.details["session_id"] == principal.session.id


def test_the_elevation_window_is_configurable(
    ctx: Context,
    enrolled: Enrolled,
    clock: ManualClock,
    principal_for: Callable[[users.User], sessions.Principal],
) -> None:
    ctx.settings = ctx.settings.model_copy(update={"elevation_minutes": 5})
    granted = step_up.step_up(
        ctx, principal_for(enrolled.user), ORIGIN, code=code_at(enrolled.secret, clock)
    )
    assert (granted.elevated_until, granted.expires_in) == (clock.now() + timedelta(minutes=5), 300)


def test_only_the_elevated_session_is_elevated(
    ctx: Context,
    enrolled: Enrolled,
    clock: ManualClock,
    principal_for: Callable[[users.User], sessions.Principal],
) -> None:
    first, second = principal_for(enrolled.user), principal_for(enrolled.user)
    elevate_now(ctx, first, enrolled.secret, clock)
    again = sessions.resolve(ctx, second.session.id)
    with pytest.raises(ElevationRequired):
        sessions.require_elevated(again, clock.now())


def test_a_code_elevates_once(
    ctx: Context,
    enrolled: Enrolled,
    clock: ManualClock,
    principal_for: Callable[[users.User], sessions.Principal],
) -> None:
    code = code_at(enrolled.secret, clock)
    step_up.step_up(ctx, principal_for(enrolled.user), ORIGIN, code=code)
    with pytest.raises(InvalidCode):
        step_up.step_up(ctx, principal_for(enrolled.user), ORIGIN, code=code)
    with pytest.raises(InvalidCode):  # an earlier step is refused too
        step_up.step_up(
            ctx, principal_for(enrolled.user), ORIGIN, code=code_at(enrolled.secret, clock, -1)
        )


def test_wrong_codes_are_counted_and_lock_the_account(
    ctx: Context,
    enrolled: Enrolled,
    clock: ManualClock,
    principal_for: Callable[[users.User], sessions.Principal],
    mailer: MemoryMailer,
) -> None:
    principal = principal_for(enrolled.user)
    right = code_at(enrolled.secret, clock)
    wrong = "000000" if right != "000000" else "111111"
    threshold = ctx.settings.lockout_threshold
    for _ in range(threshold - 1):
        with pytest.raises(InvalidCode):
            step_up.step_up(ctx, principal, ORIGIN, code=wrong)
    with pytest.raises(TooManyAttempts) as locked:
        step_up.step_up(ctx, principal, ORIGIN, code=wrong)
    assert locked.value.retry_after == ctx.settings.lockout_minutes * 60

    clock.advance(10)
    with pytest.raises(TooManyAttempts) as refused:  # the right code, while locked
        step_up.step_up(ctx, principal, ORIGIN, code=right)
    assert refused.value.retry_after == ctx.settings.lockout_minutes * 60 - 10
    assert type(refused.value) is type(locked.value)
    assert refused.value.message == locked.value.message
    assert not sessions.resolve(ctx, principal.session.id).is_elevated(clock.now())
    assert mailer.last("account_locked").to == enrolled.user.email

    clock.advance(ctx.settings.lockout_minutes * 60)
    elevate_now(ctx, principal, enrolled.secret, clock)


def test_a_backup_code_elevates_and_is_used_up(
    ctx: Context,
    enrolled: Enrolled,
    clock: ManualClock,
    principal_for: Callable[[users.User], sessions.Principal],
    mailer: MemoryMailer,
) -> None:
    backup = enrolled.backup_codes[3]
    principal = principal_for(enrolled.user)
    step_up.step_up(ctx, principal, ORIGIN, backup_code=backup)
    assert sessions.resolve(ctx, principal.session.id).is_elevated(clock.now())
    with ctx.db.transaction(readonly=True) as tx:
        assert backup_codes.status(tx, enrolled.user.id).remaining == 9
    assert mailer.last("backup_code_used").to == enrolled.user.email
    with pytest.raises(InvalidCode):
        step_up.step_up(ctx, principal_for(enrolled.user), ORIGIN, backup_code=backup)


def test_exactly_one_factor_is_required(
    ctx: Context, enrolled: Enrolled, principal_for: Callable[[users.User], sessions.Principal]
) -> None:
    principal = principal_for(enrolled.user)
    with pytest.raises(InvalidInput):
        step_up.step_up(ctx, principal, ORIGIN)
    with pytest.raises(InvalidInput):
        step_up.step_up(ctx, principal, ORIGIN, code="123456", backup_code="abcd-efgh")


def test_an_account_without_a_device_cannot_elevate(
    ctx: Context,
    make_user: Callable[..., users.User],
    principal_for: Callable[[users.User], sessions.Principal],
) -> None:
    with pytest.raises(EnrollmentRequired):
        step_up.step_up(ctx, principal_for(make_user()), ORIGIN, code="123456")


def test_an_enrollment_only_session_cannot_elevate(
    ctx: Context,
    enrolled: Enrolled,
    clock: ManualClock,
    principal_for: Callable[[users.User], sessions.Principal],
) -> None:
    principal = principal_for(enrolled.user)
    limited = replace(principal, session=_with_purpose(principal.session, "enroll"))
    with pytest.raises(EnrollmentRequired):
        step_up.step_up(ctx, limited, ORIGIN, code=code_at(enrolled.secret, clock))


def _holder(principal: sessions.Principal) -> sessions.TokenHolder:
    return sessions.TokenHolder(session_id=principal.session.id, user_id=principal.user.id)


def test_a_token_holder_is_read_and_elevated_in_one_transaction(
    ctx: Context,
    enrolled: Enrolled,
    clock: ManualClock,
    principal_for: Callable[[users.User], sessions.Principal],
) -> None:
    principal = principal_for(enrolled.user)
    assert not principal.is_elevated(clock.now())
    granted = step_up.step_up(ctx, _holder(principal), ORIGIN, code=code_at(enrolled.secret, clock))
    assert granted.user.id == enrolled.user.id
    assert granted.session.id == principal.session.id
    assert sessions.resolve(ctx, principal.session.id).is_elevated(clock.now())


@pytest.mark.parametrize("by_token", [False, True], ids=["principal", "token-holder"])
def test_a_revoked_session_is_not_elevated_and_keeps_the_code(
    ctx: Context,
    enrolled: Enrolled,
    clock: ManualClock,
    principal_for: Callable[[users.User], sessions.Principal],
    by_token: bool,
) -> None:
    def caller(principal: sessions.Principal) -> sessions.Principal | sessions.TokenHolder:
        return _holder(principal) if by_token else principal

    principal = principal_for(enrolled.user)
    with ctx.db.transaction() as tx:
        session_store.revoke(tx, principal.session.id, clock.now())
    code = code_at(enrolled.secret, clock)
    with pytest.raises(Unauthenticated):
        step_up.step_up(ctx, caller(principal), ORIGIN, code=code)
    step_up.step_up(ctx, caller(principal_for(enrolled.user)), ORIGIN, code=code)  # not spent


def test_a_token_naming_another_users_session_is_refused(
    ctx: Context,
    enrolled: Enrolled,
    clock: ManualClock,
    make_user: Callable[..., users.User],
    principal_for: Callable[[users.User], sessions.Principal],
) -> None:
    mine = principal_for(enrolled.user)
    other = make_user("mallory@example.com")
    forged = sessions.TokenHolder(session_id=mine.session.id, user_id=other.id)
    with pytest.raises(InvalidToken):
        step_up.step_up(ctx, forged, ORIGIN, code=code_at(enrolled.secret, clock))
    assert not sessions.resolve(ctx, mine.session.id).is_elevated(clock.now())


def test_a_token_holder_steps_up_with_a_password_when_it_has_no_factor(
    ctx: Context,
    make_user: Callable[..., users.User],
    principal_for: Callable[[users.User], sessions.Principal],
) -> None:
    principal = principal_for(make_user())
    granted = step_up.step_up(ctx, _holder(principal), ORIGIN, password=PASSWORD)
    assert granted.session.amr[-1] == "pwd"


def test_audit_rows_hold_no_code(
    ctx: Context,
    enrolled: Enrolled,
    clock: ManualClock,
    principal_for: Callable[[users.User], sessions.Principal],
) -> None:
    code = code_at(enrolled.secret, clock)
    principal = principal_for(enrolled.user)
    with pytest.raises(InvalidCode):
        step_up.step_up(ctx, principal, ORIGIN, code="000000" if code != "000000" else "1")
    step_up.step_up(ctx, principal, ORIGIN, code=code)
    step_up.step_up(ctx, principal, ORIGIN, backup_code=enrolled.backup_codes[0])
    with ctx.db.transaction(readonly=True) as tx:
        rows = audit.query(tx, limit=500)
    dumped = json.dumps([[r.event, r.details] for r in rows], default=str)
    for secret in (code, enrolled.secret, enrolled.backup_codes[0]):
        assert secret not in dumped
    events = {(r.event, r.outcome) for r in rows}
    assert {("elevate.factor", "failure"), ("elevate.factor", "success")} <= events


def _with_purpose(session: session_store.UserSession, purpose: str) -> session_store.UserSession:
    return replace(session, purpose=purpose)


def test_an_account_without_2fa_steps_up_with_its_password(
    ctx: Context,
    make_user: Callable[..., users.User],
    principal_for: Callable[[users.User], sessions.Principal],
) -> None:
    principal = principal_for(make_user())
    with pytest.raises(InvalidCredentials):
        step_up.step_up(ctx, principal, ORIGIN, password="not my password")
    granted = step_up.step_up(ctx, principal, ORIGIN, password=PASSWORD)
    assert granted.expires_in == ctx.settings.elevation_minutes * 60
    sessions.require_elevated(sessions.resolve(ctx, principal.session.id), ctx.clock.now())


def test_a_password_is_no_step_up_for_an_account_with_2fa(
    ctx: Context,
    enrolled: Enrolled,
    principal_for: Callable[[users.User], sessions.Principal],
) -> None:
    principal = principal_for(enrolled.user)
    with pytest.raises(InvalidInput) as caught:
        step_up.step_up(ctx, principal, ORIGIN, password=PASSWORD)
    assert caught.value.field == "code"
    with pytest.raises(ElevationRequired):
        sessions.require_elevated(sessions.resolve(ctx, principal.session.id), ctx.clock.now())


def test_a_step_up_names_its_method_in_the_session(
    ctx: Context,
    enrolled: Enrolled,
    clock: ManualClock,
    principal_for: Callable[[users.User], sessions.Principal],
) -> None:
    """A code step-up adds ``otp`` to ``amr`` and dates the second factor (DESIGN §4.12)."""
    principal = principal_for(enrolled.user)  # signed in with the password alone
    assert principal.session.amr == ("pwd",) and principal.session.second_factor_at is None
    clock.advance(60)
    granted = step_up.step_up(ctx, principal, ORIGIN, code=code_at(enrolled.secret, clock))
    assert granted.session.amr == ("pwd", "otp")
    assert granted.session.second_factor_at == clock.now()
    assert sessions.resolve(ctx, principal.session.id).session == granted.session


def test_a_password_step_up_proves_no_second_factor(
    ctx: Context,
    make_user: Callable[..., users.User],
    clock: ManualClock,
    principal_for: Callable[[users.User], sessions.Principal],
) -> None:
    """A password step-up elevates an account without a device; ``amr`` stays ``pwd``."""
    principal = principal_for(make_user())
    clock.advance(60)
    granted = step_up.step_up(ctx, principal, ORIGIN, password=PASSWORD)
    assert granted.session.is_elevated(clock.now())
    assert granted.session.amr == ("pwd",)
    assert granted.session.second_factor_at is None
