"""Password reset: enumeration-safe requests, single-use tokens, and 2FA never bypassed."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

import pytest

from tests.services.conftest import ORIGIN, PASSWORD, Enrolled, code_at
from tests.services.support import challenge_id, dump_tables, other_code
from twostep.clock import ManualClock
from twostep.errors import (
    InvalidCode,
    InvalidCredentials,
    InvalidInput,
    TooManyAttempts,
    TwostepError,
    Unauthenticated,
    WeakPassword,
)
from twostep.mail import MemoryMailer, Message
from twostep.services import login, reset, sessions
from twostep.services.context import Context
from twostep.store import audit, users

ALICE = "alice@example.com"
NEW_PASSWORD = "a brand new passphrase"


def reset_token(message: Message) -> str:
    found = re.search(r"https://auth\.example\.test/reset-password\?token=(\S+)", message.text)
    assert found is not None, message.text
    return found.group(1)


def requested(ctx: Context, mailer: MemoryMailer, email: str = ALICE) -> str:
    """Ask for a reset and return the token from the mail it sent."""
    assert answer(email, ctx) == ("value", None)
    return reset_token(mailer.last("password_reset"))


def answer(email: str, ctx: Context) -> tuple[object, ...]:
    """What ``request_reset`` answered for ``email``: its value, or its error."""
    call: Callable[..., object] = reset.request_reset
    try:
        return ("value", call(ctx, email, ORIGIN))
    except TwostepError as exc:
        return (type(exc), exc.code, exc.message)


def signs_in(ctx: Context, password: str) -> bool:
    try:
        login.login(ctx, ALICE, password, ORIGIN)
    except InvalidCredentials:
        return False
    return True


def test_known_and_unknown_addresses_get_the_same_answer_and_only_one_mail(
    ctx: Context, make_user: Callable[..., users.User], mailer: MemoryMailer
) -> None:
    make_user()
    inactive = make_user("inactive@example.com", is_active=False)
    answers = [answer(email, ctx) for email in (ALICE, "nobody@example.com", inactive.email)]
    assert answers == [("value", None)] * 3
    assert [m.to for m in mailer.messages] == [ALICE]
    with ctx.db.transaction(readonly=True) as tx:
        rows = audit.query(tx, event="password.reset_requested")
    assert len(rows) == 3


def test_token_alone_resets_an_account_without_2fa_once(
    ctx: Context, make_user: Callable[..., users.User], mailer: MemoryMailer
) -> None:
    make_user()
    token = requested(ctx, mailer)
    assert reset.reset_status(ctx, token) == reset.ResetInfo(requires_code=False, methods=())
    reset.complete_reset(ctx, token, NEW_PASSWORD, ORIGIN)
    assert mailer.last().tag == "password_reset_done"
    assert signs_in(ctx, NEW_PASSWORD) and not signs_in(ctx, PASSWORD)
    with pytest.raises(InvalidCode):
        reset.complete_reset(ctx, token, "yet another passphrase", ORIGIN)
    with pytest.raises(InvalidCode):
        reset.reset_status(ctx, token)


def test_two_factor_account_needs_a_code_and_keeps_the_token_until_then(
    ctx: Context, enrolled: Enrolled, mailer: MemoryMailer, clock: ManualClock
) -> None:
    token = requested(ctx, mailer)
    info = reset.reset_status(ctx, token)
    assert info == reset.ResetInfo(requires_code=True, methods=("totp", "backup_code"))
    with pytest.raises(InvalidInput) as missing:
        reset.complete_reset(ctx, token, NEW_PASSWORD, ORIGIN)
    assert missing.value.field == "code"
    with pytest.raises(InvalidCode):
        reset.complete_reset(ctx, token, NEW_PASSWORD, ORIGIN, code="000000")
    with pytest.raises(WeakPassword):
        reset.complete_reset(ctx, token, "password", ORIGIN, code=code_at(enrolled.secret, clock))
    assert not signs_in(ctx, NEW_PASSWORD)

    reset.complete_reset(ctx, token, NEW_PASSWORD, ORIGIN, code=code_at(enrolled.secret, clock))
    assert signs_in(ctx, NEW_PASSWORD)
    with pytest.raises(InvalidCode):
        reset.complete_reset(
            ctx, token, NEW_PASSWORD, ORIGIN, code=code_at(enrolled.secret, clock, 1)
        )


def test_a_backup_code_completes_a_reset(
    ctx: Context, enrolled: Enrolled, mailer: MemoryMailer
) -> None:
    token = requested(ctx, mailer)
    backup = enrolled.backup_codes[0]
    reset.complete_reset(ctx, token, NEW_PASSWORD, ORIGIN, backup_code=backup)
    assert {"backup_code_used", "password_reset_done"} <= {m.tag for m in mailer.messages}
    assert signs_in(ctx, NEW_PASSWORD)
    challenge = login.login(ctx, ALICE, NEW_PASSWORD, ORIGIN)
    assert isinstance(challenge, login.ChallengeIssued)
    with pytest.raises(InvalidCode):  # spent by the reset
        login.complete(ctx, challenge.challenge_id, ORIGIN, backup_code=backup)


def test_wrong_codes_count_toward_the_account_lockout(
    ctx: Context, enrolled: Enrolled, mailer: MemoryMailer, clock: ManualClock
) -> None:
    token = requested(ctx, mailer)
    for _ in range(ctx.settings.lockout_threshold - 1):
        with pytest.raises(InvalidCode):
            reset.complete_reset(ctx, token, NEW_PASSWORD, ORIGIN, code="000000")
    with pytest.raises(TooManyAttempts):
        reset.complete_reset(ctx, token, NEW_PASSWORD, ORIGIN, code="000000")
    with pytest.raises(TooManyAttempts):
        reset.complete_reset(ctx, token, NEW_PASSWORD, ORIGIN, code=code_at(enrolled.secret, clock))
    assert reset.reset_status(ctx, token).requires_code  # the token itself is still good


def test_an_expired_token_is_refused(
    ctx: Context, make_user: Callable[..., users.User], mailer: MemoryMailer, clock: ManualClock
) -> None:
    make_user()
    token = requested(ctx, mailer)
    clock.advance(ctx.settings.reset_token_minutes * 60)
    with pytest.raises(InvalidCode):
        reset.reset_status(ctx, token)
    with pytest.raises(InvalidCode):
        reset.complete_reset(ctx, token, NEW_PASSWORD, ORIGIN)
    with pytest.raises(InvalidCode):
        reset.complete_reset(ctx, "made-up-token", NEW_PASSWORD, ORIGIN)
    assert signs_in(ctx, PASSWORD)


def test_only_the_newest_link_works_and_requests_cool_down(
    ctx: Context, make_user: Callable[..., users.User], mailer: MemoryMailer, clock: ManualClock
) -> None:
    make_user()
    first = requested(ctx, mailer)
    assert answer(ALICE, ctx) == ("value", None)  # within the cooldown: no new mail
    assert len(mailer.to(ALICE)) == 1
    clock.advance(ctx.settings.email_code_cooldown_seconds)
    second = requested(ctx, mailer)
    assert second != first
    with pytest.raises(InvalidCode):
        reset.reset_status(ctx, first)
    reset.complete_reset(ctx, second, NEW_PASSWORD, ORIGIN)


def test_a_reset_ends_every_session_and_bumps_the_token_version(
    ctx: Context,
    make_user: Callable[..., users.User],
    principal_for: Callable[[users.User], sessions.Principal],
    mailer: MemoryMailer,
) -> None:
    user = make_user()
    principals = [principal_for(user), principal_for(user)]
    reset.complete_reset(ctx, requested(ctx, mailer), NEW_PASSWORD, ORIGIN)
    for principal in principals:
        with pytest.raises(Unauthenticated):
            sessions.resolve(ctx, principal.session.id)
    with ctx.db.transaction(readonly=True) as tx:
        after = users.get(tx, user.id)
    assert after is not None and after.token_version == user.token_version + 1


def test_the_link_is_built_from_the_public_url(
    ctx: Context, make_user: Callable[..., users.User], mailer: MemoryMailer
) -> None:
    make_user()
    reset.request_reset(ctx, ALICE, ORIGIN)
    link = re.search(r"\S*/reset-password\?token=\S+", mailer.last().text)
    assert link is not None
    assert link.group(0).startswith("https://auth.example.test/reset-password?token=")


def test_no_token_code_or_password_reaches_the_audit_log_or_the_tables(
    ctx: Context, enrolled: Enrolled, mailer: MemoryMailer, clock: ManualClock
) -> None:
    token = requested(ctx, mailer)
    code = code_at(enrolled.secret, clock)
    with pytest.raises(InvalidInput):
        reset.complete_reset(ctx, token, NEW_PASSWORD, ORIGIN)
    with pytest.raises(InvalidCode):
        reset.complete_reset(ctx, token, NEW_PASSWORD, ORIGIN, code=other_code(code))
    reset.complete_reset(ctx, token, NEW_PASSWORD, ORIGIN, code=code)
    secrets = [token, code, NEW_PASSWORD, PASSWORD]
    with ctx.db.transaction(readonly=True) as tx:
        events = audit.query(tx, limit=500)
    dump = dump_tables(ctx)
    assert {"password.reset_requested", "password.reset", "session.revoked_all"} <= {
        e.event for e in events
    }
    for event in events:
        assert not [s for s in secrets if s in repr(event)], event
    at_rest = [token, NEW_PASSWORD, PASSWORD, enrolled.secret, *enrolled.backup_codes]
    assert not [s for s in at_rest if s in dump]  # a 6-digit code could match hex by chance


def test_a_reset_link_gets_the_owner_past_a_password_lock(
    ctx: Context, make_user: Callable[..., users.User], mailer: MemoryMailer
) -> None:
    """Someone locked the password step with guesses; the owner's reset link still works,
    and the new password signs in at once (DESIGN §4.3)."""
    make_user()
    for _ in range(ctx.settings.password_lockout_threshold):
        with pytest.raises((InvalidCredentials, TooManyAttempts)):
            login.login(ctx, ALICE, "an attacker's guess", ORIGIN)
    with pytest.raises(TooManyAttempts):
        login.login(ctx, ALICE, PASSWORD, ORIGIN)
    reset.complete_reset(ctx, requested(ctx, mailer), NEW_PASSWORD, ORIGIN)
    assert signs_in(ctx, NEW_PASSWORD)


def test_a_reset_with_a_code_signs_the_owner_in_elevated(
    ctx: Context, enrolled: Enrolled, clock: ManualClock, mailer: MemoryMailer
) -> None:
    old = login.complete(ctx, challenge_id(ctx), ORIGIN, code=code_at(enrolled.secret, clock))
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
