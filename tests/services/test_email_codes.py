"""Email one-time codes: enumeration-safe requests, single use, attempts, resend, cooldown."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.services.conftest import ORIGIN, Enrolled, code_at
from tests.services.support import code_in, other_code
from twostep.clock import ManualClock
from twostep.errors import InvalidCode, InvalidInput, TooManyAttempts, TwostepError
from twostep.mail import MemoryMailer
from twostep.services import email_codes, login, sessions
from twostep.services.context import Context
from twostep.store import audit, users

ALICE = "alice@example.com"
GHOST = "ghost@example.com"


def outcome(call: Callable[..., object], *args: object) -> tuple[object, ...]:
    """What a call answered, as comparable data: its value, or its error and the error's data."""
    try:
        return ("value", call(*args))
    except TwostepError as exc:
        return (type(exc), exc.code, exc.message, getattr(exc, "retry_after", None))


def test_known_and_unknown_addresses_get_identical_answers(
    ctx: Context, make_user: Callable[..., users.User], mailer: MemoryMailer, clock: ManualClock
) -> None:
    make_user()
    for purpose in ("sign_in", "verify"):
        known = [outcome(email_codes.request_code, ctx, ALICE, purpose, ORIGIN)]
        unknown = [outcome(email_codes.request_code, ctx, GHOST, purpose, ORIGIN)]
        clock.advance(30)
        known.append(outcome(email_codes.request_code, ctx, ALICE, purpose, ORIGIN))
        unknown.append(outcome(email_codes.request_code, ctx, GHOST, purpose, ORIGIN))
        assert known == unknown
        assert known[0] == ("value", email_codes.CodeRequested(600, 60))
        assert known[1][0] is TooManyAttempts
        clock.advance(60)
    # alice is verified already: only her sign-in code was mailed; the ghost got nothing
    assert [m.tag for m in mailer.messages] == ["email_sign_in_code"]
    assert mailer.to(GHOST) == []
    for address in (ALICE, GHOST):
        with pytest.raises(InvalidCode):
            email_codes.sign_in(ctx, address, "123456", ORIGIN)


def test_sign_in_code_gives_a_session_once(
    ctx: Context, make_user: Callable[..., users.User], mailer: MemoryMailer
) -> None:
    user = make_user()
    email_codes.request_code(ctx, " Alice@Example.COM", "sign_in", ORIGIN)
    code = code_in(mailer.last("email_sign_in_code"))
    result = email_codes.sign_in(ctx, ALICE, f" {code[:3]} {code[3:]} ", ORIGIN)
    assert isinstance(result, sessions.IssuedSession)
    assert result.session.user_id == user.id
    with pytest.raises(InvalidCode):
        email_codes.sign_in(ctx, ALICE, code, ORIGIN)


def test_sign_in_code_never_replaces_the_second_factor(
    ctx: Context, enrolled: Enrolled, mailer: MemoryMailer, clock: ManualClock
) -> None:
    email_codes.request_code(ctx, ALICE, "sign_in", ORIGIN)
    result = email_codes.sign_in(ctx, ALICE, code_in(mailer.last()), ORIGIN)
    assert isinstance(result, login.ChallengeIssued)
    issued = login.complete(ctx, result.challenge_id, ORIGIN, code=code_at(enrolled.secret, clock))
    assert issued.session.user_id == enrolled.user.id


def test_five_wrong_codes_kill_the_code(
    ctx: Context, make_user: Callable[..., users.User], mailer: MemoryMailer
) -> None:
    make_user()
    email_codes.request_code(ctx, ALICE, "sign_in", ORIGIN)
    code = code_in(mailer.last())
    for _ in range(email_codes.MAX_ATTEMPTS):
        with pytest.raises(InvalidCode):
            email_codes.sign_in(ctx, ALICE, other_code(code), ORIGIN)
    with pytest.raises(InvalidCode):
        email_codes.sign_in(ctx, ALICE, code, ORIGIN)


def test_resend_replaces_the_code_after_the_cooldown(
    ctx: Context, make_user: Callable[..., users.User], mailer: MemoryMailer, clock: ManualClock
) -> None:
    make_user()
    email_codes.request_code(ctx, ALICE, "sign_in", ORIGIN)
    old = code_in(mailer.last())
    clock.advance(59)
    with pytest.raises(TooManyAttempts) as caught:
        email_codes.request_code(ctx, ALICE, "sign_in", ORIGIN)
    assert caught.value.retry_after == 1
    clock.advance(1)
    email_codes.request_code(ctx, ALICE, "sign_in", ORIGIN)
    new = code_in(mailer.last())
    if new != old:  # one time in a million the fresh code repeats the old one
        with pytest.raises(InvalidCode):
            email_codes.sign_in(ctx, ALICE, old, ORIGIN)
    assert isinstance(email_codes.sign_in(ctx, ALICE, new, ORIGIN), sessions.IssuedSession)


def test_a_code_expires_after_ten_minutes(
    ctx: Context, make_user: Callable[..., users.User], mailer: MemoryMailer, clock: ManualClock
) -> None:
    make_user()
    email_codes.request_code(ctx, ALICE, "sign_in", ORIGIN)
    clock.advance(600)
    with pytest.raises(InvalidCode):
        email_codes.sign_in(ctx, ALICE, code_in(mailer.last()), ORIGIN)


def test_guessing_across_resends_locks_known_and_unknown_addresses_alike(
    ctx: Context, make_user: Callable[..., users.User], clock: ManualClock
) -> None:
    make_user()
    threshold = ctx.settings.password_lockout_threshold
    answers: dict[str, list[tuple[object, ...]]] = {ALICE: [], GHOST: []}
    for address, seen in answers.items():
        for attempt in range(threshold + 1):
            if attempt % email_codes.MAX_ATTEMPTS == 0:
                outcome(email_codes.request_code, ctx, address, "sign_in", ORIGIN)
                clock.advance(60)
            seen.append(outcome(email_codes.sign_in, ctx, address, "000000", ORIGIN))
    assert answers[ALICE] == answers[GHOST]
    assert answers[ALICE][-1][0] is TooManyAttempts


def test_verify_purpose_sends_code_and_link_to_an_unconfirmed_address(
    ctx: Context, make_user: Callable[..., users.User], mailer: MemoryMailer
) -> None:
    user = _unverified(ctx, make_user)
    email_codes.request_code(ctx, ALICE, "verify", ORIGIN)
    message = mailer.last("email_verification")
    assert "https://auth.example.test/verify-email?token=" in message.text
    verified = email_codes.verify_address(ctx, ALICE, code_in(message), ORIGIN)
    assert verified == email_codes.EmailVerified(user.id, ALICE)


def _unverified(ctx: Context, make_user: Callable[..., users.User]) -> users.User:
    user = make_user()
    with ctx.db.transaction() as tx:
        users.set_email_verified(tx, user.id, None)
    return user


def test_bad_input_is_refused_without_revealing_anything(ctx: Context) -> None:
    with pytest.raises(InvalidInput) as caught:
        email_codes.request_code(ctx, ALICE, "reset", ORIGIN)  # type: ignore[arg-type]
    assert caught.value.field == "purpose"
    with pytest.raises(InvalidInput):
        email_codes.request_code(ctx, "not an address", "sign_in", ORIGIN)
    with pytest.raises(InvalidCode):
        email_codes.sign_in(ctx, "not an address", "123456", ORIGIN)


def test_no_code_reaches_the_audit_log_or_the_tables(
    ctx: Context, make_user: Callable[..., users.User], mailer: MemoryMailer
) -> None:
    make_user()
    email_codes.request_code(ctx, ALICE, "sign_in", ORIGIN)
    code = code_in(mailer.last())
    with pytest.raises(InvalidCode):
        email_codes.sign_in(ctx, ALICE, other_code(code), ORIGIN)
    email_codes.sign_in(ctx, ALICE, code, ORIGIN)
    with ctx.db.transaction(readonly=True) as tx:
        events = audit.query(tx, limit=500)
    assert {"email.code_requested", "email.sign_in", "login.email_code"} <= {
        e.event for e in events
    }
    for event in events:
        assert code not in repr(event) and other_code(code) not in repr(event)
