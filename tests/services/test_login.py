"""The password step and the login challenge, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from tests.services.conftest import ORIGIN, PASSWORD, Enrolled, code_at
from tests.services.support import challenge_id
from twostep.clock import ManualClock
from twostep.config import Settings
from twostep.errors import (
    ChallengeExpired,
    InvalidCode,
    InvalidCredentials,
    TooManyAttempts,
)
from twostep.otp.providers import TOTPProvider
from twostep.security import PasswordHasher
from twostep.services import devices, login, sessions
from twostep.services.context import Context
from twostep.store import audit, users


def test_password_only_account_gets_a_full_session(
    ctx: Context, make_user: Callable[..., users.User]
) -> None:
    user = make_user()
    result = login.login(ctx, " Alice@Example.COM ", PASSWORD, ORIGIN)
    assert isinstance(result, sessions.IssuedSession)
    assert result.session.user_id == user.id
    assert result.session.purpose == "full"
    assert result.session.amr == ("pwd",)


def test_required_mfa_limits_a_deviceless_session_to_enrollment(
    ctx: Context, make_user: Callable[..., users.User], settings: Settings
) -> None:
    make_user()
    ctx.settings = settings.model_copy(update={"mfa": "required"})
    result = login.login(ctx, "alice@example.com", PASSWORD, ORIGIN)
    assert isinstance(result, sessions.IssuedSession)
    assert result.session.purpose == "enroll"


def test_unknown_and_known_email_answer_alike(
    ctx: Context, make_user: Callable[..., users.User]
) -> None:
    make_user()
    errors = []
    for email, password in [("alice@example.com", "wrong password!"), ("nobody@example.com", "x")]:
        with pytest.raises(InvalidCredentials) as caught:
            login.login(ctx, email, password, ORIGIN)
        errors.append((type(caught.value), caught.value.code, caught.value.message))
    assert errors[0] == errors[1]


def test_password_failures_lock_the_address_known_or_not(
    ctx: Context, make_user: Callable[..., users.User], clock: ManualClock
) -> None:
    make_user()
    for email in ["alice@example.com", "ghost@example.com"]:
        for _ in range(ctx.settings.password_lockout_threshold - 1):
            with pytest.raises(InvalidCredentials):
                login.login(ctx, email, "not the password", ORIGIN)
        with pytest.raises(TooManyAttempts):  # the failure that locks says so
            login.login(ctx, email, "not the password", ORIGIN)
        with pytest.raises(TooManyAttempts) as caught:
            login.login(ctx, email, PASSWORD, ORIGIN)
        assert caught.value.retry_after == ctx.settings.password_lockout_minutes * 60
    clock.advance(ctx.settings.password_lockout_minutes * 60)
    assert isinstance(
        login.login(ctx, "alice@example.com", PASSWORD, ORIGIN), sessions.IssuedSession
    )


def test_two_factor_account_gets_a_challenge_then_a_session(
    ctx: Context, enrolled: Enrolled, clock: ManualClock
) -> None:
    result = login.login(ctx, "alice@example.com", PASSWORD, ORIGIN)
    assert isinstance(result, login.ChallengeIssued)
    assert result.methods == ("totp", "backup_code")
    assert result.expires_in == 300
    issued = login.complete(ctx, result.challenge_id, ORIGIN, code=code_at(enrolled.secret, clock))
    assert issued.session.amr == ("pwd", "otp")
    with pytest.raises(ChallengeExpired):  # a challenge completes once
        login.complete(ctx, result.challenge_id, ORIGIN, code=code_at(enrolled.secret, clock, 1))


def test_a_code_is_accepted_once_and_earlier_steps_are_refused(
    ctx: Context, enrolled: Enrolled, clock: ManualClock
) -> None:
    code = code_at(enrolled.secret, clock)
    previous = code_at(enrolled.secret, clock, -1)
    first = login.login(ctx, "alice@example.com", PASSWORD, ORIGIN)
    assert isinstance(first, login.ChallengeIssued)
    login.complete(ctx, first.challenge_id, ORIGIN, code=code)
    for replay in (code, previous):
        again = login.login(ctx, "alice@example.com", PASSWORD, ORIGIN)
        assert isinstance(again, login.ChallengeIssued)
        with pytest.raises(InvalidCode):
            login.complete(ctx, again.challenge_id, ORIGIN, code=replay)


def test_backup_code_signs_in_once_and_notifies(
    ctx: Context, enrolled: Enrolled, mailer: object
) -> None:
    backup = enrolled.backup_codes[0]
    result = login.login(ctx, "alice@example.com", PASSWORD, ORIGIN)
    assert isinstance(result, login.ChallengeIssued)
    issued = login.complete(ctx, result.challenge_id, ORIGIN, backup_code=backup.lower())
    assert issued.session.amr == ("pwd", "backup")
    again = login.login(ctx, "alice@example.com", PASSWORD, ORIGIN)
    assert isinstance(again, login.ChallengeIssued)
    with pytest.raises(InvalidCode):
        login.complete(ctx, again.challenge_id, ORIGIN, backup_code=backup)


def test_lockout_refuses_the_right_code_and_survives_a_new_password_step(
    ctx: Context, enrolled: Enrolled, clock: ManualClock
) -> None:
    threshold = ctx.settings.lockout_threshold
    errors: list[Exception] = []
    for _ in range(threshold):
        challenge = login.login(ctx, "alice@example.com", PASSWORD, ORIGIN)
        assert isinstance(challenge, login.ChallengeIssued)
        with pytest.raises((InvalidCode, TooManyAttempts)) as caught:
            login.complete(ctx, challenge.challenge_id, ORIGIN, code="000000")
        errors.append(caught.value)
    assert all(isinstance(e, InvalidCode) for e in errors[:-1])
    assert isinstance(errors[-1], TooManyAttempts)

    challenge = login.login(ctx, "alice@example.com", PASSWORD, ORIGIN)
    assert isinstance(challenge, login.ChallengeIssued)
    with pytest.raises(TooManyAttempts) as locked:
        login.complete(ctx, challenge.challenge_id, ORIGIN, code=code_at(enrolled.secret, clock))
    assert 0 < locked.value.retry_after <= ctx.settings.lockout_minutes * 60
    with ctx.db.transaction(readonly=True) as tx:
        events = [e.event for e in audit.query(tx, user_id=enrolled.user.id, limit=200)]
    assert "account.locked" in events

    clock.advance(ctx.settings.lockout_minutes * 60 + 1)
    challenge = login.login(ctx, "alice@example.com", PASSWORD, ORIGIN)
    assert isinstance(challenge, login.ChallengeIssued)
    login.complete(ctx, challenge.challenge_id, ORIGIN, code=code_at(enrolled.secret, clock))


def test_challenge_expires_and_limits_attempts(
    ctx: Context, enrolled: Enrolled, clock: ManualClock
) -> None:
    challenge = login.login(ctx, "alice@example.com", PASSWORD, ORIGIN)
    assert isinstance(challenge, login.ChallengeIssued)
    clock.advance(ctx.settings.challenge_seconds)
    with pytest.raises(ChallengeExpired):
        login.complete(ctx, challenge.challenge_id, ORIGIN, code=code_at(enrolled.secret, clock))
    with pytest.raises(ChallengeExpired):
        login.complete(ctx, "no-such-challenge", ORIGIN, code="123456")


def test_devices_keep_their_enrolled_parameters_when_the_provider_changes(
    ctx: Context, enrolled: Enrolled, clock: ManualClock
) -> None:
    ctx.provider = TOTPProvider(algorithm="sha256", digits=8)
    challenge = login.login(ctx, "alice@example.com", PASSWORD, ORIGIN)
    assert isinstance(challenge, login.ChallengeIssued)
    issued = login.complete(
        ctx, challenge.challenge_id, ORIGIN, code=code_at(enrolled.secret, clock)
    )
    assert issued.session.amr == ("pwd", "otp")


def test_sessions_record_when_they_were_last_seen(
    ctx: Context, make_user: Callable[..., users.User], clock: ManualClock
) -> None:
    make_user()
    issued = login.login(ctx, "alice@example.com", PASSWORD, ORIGIN)
    assert isinstance(issued, sessions.IssuedSession)
    started = issued.session.last_seen_at
    clock.advance(60)
    assert sessions.resolve(ctx, issued.session.id).session.last_seen_at == started
    clock.advance(10 * 60)
    sessions.resolve(ctx, issued.session.id)
    (listed,) = sessions.list_active(ctx, issued.session.user_id)
    assert listed.last_seen_at == clock.now()


class CountingHasher(PasswordHasher):
    """The real hasher, counting how many argon2 verifications each sign-in costs."""

    def __init__(self) -> None:
        super().__init__()
        self.verifications = 0

    def verify(self, stored_hash: str, password: str) -> bool:
        self.verifications += 1
        return super().verify(stored_hash, password)


def test_an_unknown_address_costs_the_same_password_hash_as_a_known_one(
    ctx: Context, make_user: Callable[..., users.User]
) -> None:
    """No enumeration by timing (DESIGN §4.6): an unknown account runs a dummy hash."""
    make_user()
    ctx.passwords = hasher = CountingHasher()
    costs = []
    for email in ["alice@example.com", "nobody@example.com", "not an address"]:
        hasher.verifications = 0
        with pytest.raises(InvalidCredentials):
            login.login(ctx, email, "wrong password!", ORIGIN)
        costs.append(hasher.verifications)
    assert costs == [1, 1, 1]


def test_a_lapsed_password_lock_starts_the_count_again(
    ctx: Context, make_user: Callable[..., users.User], clock: ManualClock
) -> None:
    """One wrong guess after a lock lapses must not lock the owner out again (DESIGN §4.3)."""
    make_user()
    threshold = ctx.settings.password_lockout_threshold
    for _ in range(threshold):
        with pytest.raises((InvalidCredentials, TooManyAttempts)):
            login.login(ctx, "alice@example.com", "not the password", ORIGIN)
    clock.advance(ctx.settings.password_lockout_minutes * 60)
    with pytest.raises(InvalidCredentials):
        login.login(ctx, "alice@example.com", "one more guess", ORIGIN)
    assert isinstance(
        login.login(ctx, "alice@example.com", PASSWORD, ORIGIN), sessions.IssuedSession
    )


def test_a_second_factor_gets_the_owner_past_a_password_lock(
    ctx: Context, enrolled: Enrolled, clock: ManualClock
) -> None:
    """An emailed sign-in code plus the authenticator code signs the owner in while someone
    else keeps the password step locked, and ends that lock."""
    email = enrolled.user.email
    for _ in range(ctx.settings.password_lockout_threshold):
        with pytest.raises((InvalidCredentials, TooManyAttempts)):
            login.login(ctx, email, "attacker guess", ORIGIN)
    with pytest.raises(TooManyAttempts):
        login.login(ctx, email, PASSWORD, ORIGIN)
    with ctx.db.transaction() as tx:
        user = users.get(tx, enrolled.user.id)
        assert user is not None
        challenge = login.after_first_factor(tx, ctx, user, ORIGIN, amr=["email"])
    assert isinstance(challenge, login.ChallengeIssued)
    issued = login.complete(
        ctx, challenge.challenge_id, ORIGIN, code=code_at(enrolled.secret, clock)
    )
    assert issued.session.amr == ("email", "otp")
    clock.advance(30)
    assert isinstance(login.login(ctx, email, PASSWORD, ORIGIN), login.ChallengeIssued)


# --- a sign-in with a second factor is a step-up ---------------------------------------------


def test_a_sign_in_with_a_second_factor_is_elevated_for_the_window(
    ctx: Context, enrolled: Enrolled, clock: ManualClock
) -> None:
    issued = login.complete(ctx, challenge_id(ctx), ORIGIN, code=code_at(enrolled.secret, clock))
    at = clock.now()
    minutes = ctx.settings.elevation_minutes
    assert issued.session.elevated_until == at + timedelta(minutes=minutes)
    principal = sessions.resolve(ctx, issued.session.id)
    sessions.require_elevated(principal, at)  # no second code a minute later
    devices.disable_two_factor(ctx, principal, ORIGIN)  # a sensitive change goes through


def test_the_elevation_of_a_sign_in_ends_with_its_window(
    ctx: Context, enrolled: Enrolled, clock: ManualClock
) -> None:
    issued = login.complete(ctx, challenge_id(ctx), ORIGIN, code=code_at(enrolled.secret, clock))
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


def test_a_locked_account_is_told_it_is_locked_not_that_sign_in_expired(
    ctx: Context, enrolled: Enrolled, clock: ManualClock
) -> None:
    challenge = challenge_id(ctx)
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
