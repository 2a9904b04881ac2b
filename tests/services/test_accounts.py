"""Registration, address verification, and changing the password or the address."""

from __future__ import annotations

import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from tests.services.conftest import ORIGIN, PASSWORD
from twostep.clock import ManualClock
from twostep.errors import (
    ElevationRequired,
    InvalidCode,
    InvalidCredentials,
    InvalidInput,
    TooManyAttempts,
    Unauthenticated,
    WeakPassword,
)
from twostep.mail import MemoryMailer, Message
from twostep.services import accounts, email_codes, login, reset, sessions
from twostep.services.context import Context
from twostep.store import audit, users
from twostep.store import sessions as session_store

NEW_PASSWORD = "a different long passphrase"
BOB = "bob@example.com"


def code_in(message: Message) -> str:
    found = re.search(r"^ {4}(\d{6})$", message.text, re.MULTILINE)
    assert found is not None, message.text
    return found.group(1)


def link_token(message: Message) -> str:
    found = re.search(r"https://auth\.example\.test/verify-email\?token=(\S+)", message.text)
    assert found is not None, message.text
    return found.group(1)


def other_code(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def elevate(ctx: Context, principal: sessions.Principal) -> sessions.Principal:
    """Mark the session elevated, as the elevation service would after a fresh factor."""
    at = ctx.clock.now()
    with ctx.db.transaction() as tx:
        session_store.set_elevated_until(tx, principal.session.id, at + timedelta(minutes=15), at)
    return sessions.resolve(ctx, principal.session.id)


def stored(ctx: Context, email: str) -> users.User:
    with ctx.db.transaction(readonly=True) as tx:
        user = users.get_by_email(tx, email)
    assert user is not None
    return user


# --- registration and verification ----------------------------------------------------------


def test_register_normalises_the_address_and_mails_a_code_and_a_link(
    ctx: Context, mailer: MemoryMailer
) -> None:
    result = accounts.register(ctx, "  Bob@Example.COM ", PASSWORD, ORIGIN)
    assert result == accounts.RegistrationResult(BOB, 600)
    user = stored(ctx, BOB)
    assert user.email_verified_at is None
    assert ctx.passwords.verify(user.password_hash, PASSWORD)
    message = mailer.last("email_verification")
    assert message.to == BOB
    assert link_token(message).startswith(f"{user.id}.")
    assert isinstance(login.login(ctx, BOB, PASSWORD, ORIGIN), sessions.IssuedSession)


@pytest.mark.parametrize("weak", ["short", "password", "12345678", "aaaaaaaaaa", BOB])
def test_register_refuses_a_weak_password(ctx: Context, weak: str) -> None:
    with pytest.raises(WeakPassword) as caught:
        accounts.register(ctx, BOB, weak, ORIGIN)
    assert caught.value.field == "password"


def test_register_refuses_an_invalid_address(ctx: Context) -> None:
    with pytest.raises(InvalidInput) as caught:
        accounts.register(ctx, "bob at example", PASSWORD, ORIGIN)
    assert caught.value.field == "email"


def test_a_taken_address_gets_the_identical_answer_and_changes_nothing(
    ctx: Context, mailer: MemoryMailer, clock: ManualClock
) -> None:
    first = accounts.register(ctx, BOB, PASSWORD, ORIGIN)
    before = stored(ctx, BOB)
    mailer.clear()
    clock.advance(3600)
    again = accounts.register(ctx, "BOB@example.com", NEW_PASSWORD, ORIGIN)
    assert again == first
    assert stored(ctx, BOB) == before
    assert mailer.messages == []
    # the verification cooldown starts either way, so a resend does not tell them apart
    with pytest.raises(TooManyAttempts):
        email_codes.request_code(ctx, BOB, "verify", ORIGIN)
    with ctx.db.transaction(readonly=True) as tx:
        denied = audit.query(tx, event="account.register", outcome="denied")
    assert [e.user_id for e in denied] == [before.id]


def test_concurrent_registrations_of_one_address_make_one_account(ctx: Context) -> None:
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(lambda _: accounts.register(ctx, BOB, PASSWORD, ORIGIN), range(6)))
    assert len(set(results)) == 1
    with ctx.db.transaction(readonly=True) as tx:
        assert users.count_users(tx, query="bob@") == 1


def test_the_code_verifies_the_address_and_the_link_then_dies(
    ctx: Context, mailer: MemoryMailer
) -> None:
    accounts.register(ctx, BOB, PASSWORD, ORIGIN)
    message = mailer.last("email_verification")
    verified = accounts.verify_email(ctx, "Bob@Example.com", code_in(message), ORIGIN)
    assert verified.email == BOB
    assert stored(ctx, BOB).email_verified_at == ctx.clock.now()
    with pytest.raises(InvalidCode):
        accounts.verify_email_link(ctx, link_token(message), ORIGIN)


def test_the_link_verifies_the_address_once(ctx: Context, mailer: MemoryMailer) -> None:
    accounts.register(ctx, BOB, PASSWORD, ORIGIN)
    message = mailer.last("email_verification")
    token = link_token(message)
    assert accounts.verify_email_link(ctx, token, ORIGIN).email == BOB
    assert stored(ctx, BOB).email_verified_at is not None
    for dead in (token, code_in(message)):
        with pytest.raises(InvalidCode):
            accounts.verify_email_link(ctx, dead, ORIGIN)
    with pytest.raises(InvalidCode):
        accounts.verify_email(ctx, BOB, code_in(message), ORIGIN)


@pytest.mark.parametrize("token", ["", ".", "nope", "x" * 80 + ".abc", "00000000-0000.x"])
def test_a_malformed_link_is_refused(ctx: Context, token: str) -> None:
    with pytest.raises(InvalidCode):
        accounts.verify_email_link(ctx, token, ORIGIN)


def test_five_wrong_codes_then_even_the_right_one_is_refused(
    ctx: Context, mailer: MemoryMailer, clock: ManualClock
) -> None:
    accounts.register(ctx, BOB, PASSWORD, ORIGIN)
    code = code_in(mailer.last("email_verification"))
    for _ in range(email_codes.MAX_ATTEMPTS):
        with pytest.raises(InvalidCode):
            accounts.verify_email(ctx, BOB, other_code(code), ORIGIN)
    with pytest.raises(InvalidCode):
        accounts.verify_email(ctx, BOB, code, ORIGIN)
    clock.advance(60)
    email_codes.request_code(ctx, BOB, "verify", ORIGIN)
    fresh = code_in(mailer.last("email_verification"))
    assert accounts.verify_email(ctx, BOB, fresh, ORIGIN).email == BOB


def test_resend_invalidates_the_old_code_and_link(
    ctx: Context, mailer: MemoryMailer, clock: ManualClock
) -> None:
    accounts.register(ctx, BOB, PASSWORD, ORIGIN)
    old = mailer.last("email_verification")
    with pytest.raises(TooManyAttempts) as caught:
        email_codes.request_code(ctx, BOB, "verify", ORIGIN)
    assert caught.value.retry_after == ctx.settings.email_code_cooldown_seconds
    clock.advance(ctx.settings.email_code_cooldown_seconds)
    email_codes.request_code(ctx, BOB, "verify", ORIGIN)
    new = mailer.last("email_verification")
    with pytest.raises(InvalidCode):
        accounts.verify_email_link(ctx, link_token(old), ORIGIN)
    if code_in(new) != code_in(old):  # a fresh code repeats the old one once in a million
        with pytest.raises(InvalidCode):
            accounts.verify_email(ctx, BOB, code_in(old), ORIGIN)
    assert accounts.verify_email_link(ctx, link_token(new), ORIGIN).email == BOB


def test_code_and_link_expire_after_ten_minutes(
    ctx: Context, mailer: MemoryMailer, clock: ManualClock
) -> None:
    accounts.register(ctx, BOB, PASSWORD, ORIGIN)
    message = mailer.last("email_verification")
    clock.advance(600)
    with pytest.raises(InvalidCode):
        accounts.verify_email(ctx, BOB, code_in(message), ORIGIN)
    with pytest.raises(InvalidCode):
        accounts.verify_email_link(ctx, link_token(message), ORIGIN)
    assert stored(ctx, BOB).email_verified_at is None


# --- changing the password ------------------------------------------------------------------


def test_change_password_needs_an_elevated_session(
    ctx: Context,
    make_user: Callable[..., users.User],
    principal_for: Callable[[users.User], sessions.Principal],
) -> None:
    principal = principal_for(make_user())
    with pytest.raises(ElevationRequired):
        accounts.change_password(ctx, principal, PASSWORD, NEW_PASSWORD, ORIGIN)


def test_change_password_needs_the_current_password_and_a_good_new_one(
    ctx: Context,
    make_user: Callable[..., users.User],
    principal_for: Callable[[users.User], sessions.Principal],
) -> None:
    principal = elevate(ctx, principal_for(make_user()))
    with pytest.raises(InvalidInput) as caught:
        accounts.change_password(ctx, principal, "not my password", NEW_PASSWORD, ORIGIN)
    assert caught.value.field == "current_password"
    with pytest.raises(WeakPassword):
        accounts.change_password(ctx, principal, PASSWORD, "password", ORIGIN)
    assert isinstance(
        login.login(ctx, "alice@example.com", PASSWORD, ORIGIN), sessions.IssuedSession
    )


def test_change_password_ends_other_sessions_and_keeps_this_one(
    ctx: Context,
    make_user: Callable[..., users.User],
    principal_for: Callable[[users.User], sessions.Principal],
    mailer: MemoryMailer,
) -> None:
    user = make_user()
    other = principal_for(user)
    principal = elevate(ctx, principal_for(user))
    accounts.change_password(ctx, principal, PASSWORD, NEW_PASSWORD, ORIGIN)
    assert sessions.resolve(ctx, principal.session.id).user.id == user.id
    with pytest.raises(Unauthenticated):
        sessions.resolve(ctx, other.session.id)
    with pytest.raises(InvalidCredentials):
        login.login(ctx, user.email, PASSWORD, ORIGIN)
    assert isinstance(login.login(ctx, user.email, NEW_PASSWORD, ORIGIN), sessions.IssuedSession)
    assert mailer.last().tag == "password_changed"


# --- changing the address -------------------------------------------------------------------


def test_change_email_needs_elevation_and_a_free_address(
    ctx: Context,
    make_user: Callable[..., users.User],
    principal_for: Callable[[users.User], sessions.Principal],
) -> None:
    principal = principal_for(make_user())
    make_user(BOB)
    with pytest.raises(ElevationRequired):
        accounts.change_email(ctx, principal, "carol@example.com", ORIGIN)
    principal = elevate(ctx, principal)
    for taken in (BOB, "ALICE@example.com"):
        with pytest.raises(InvalidInput) as caught:
            accounts.change_email(ctx, principal, taken, ORIGIN)
        assert caught.value.field == "email"
    with pytest.raises(InvalidInput) as wrong:
        accounts.change_email(ctx, principal, "carol@example.com", ORIGIN, password="nope")
    assert wrong.value.field == "current_password"


def test_change_email_switches_only_on_the_code_sent_to_the_new_address(
    ctx: Context,
    make_user: Callable[..., users.User],
    principal_for: Callable[[users.User], sessions.Principal],
    mailer: MemoryMailer,
) -> None:
    user = make_user()
    principal = elevate(ctx, principal_for(user))
    carol = "carol@example.com"
    started = accounts.change_email(ctx, principal, "Carol@Example.com", ORIGIN, password=PASSWORD)
    assert started == accounts.EmailChangeStarted(carol, 600)
    code = code_in(mailer.to(carol)[-1])
    assert stored(ctx, user.email).id == user.id  # nothing changed yet
    with pytest.raises(InvalidCode):
        accounts.confirm_email_change(ctx, principal, carol, other_code(code), ORIGIN)
    intruder = principal_for(make_user(BOB))
    with pytest.raises(InvalidCode):  # someone else's pending change is not theirs to take
        accounts.confirm_email_change(ctx, intruder, carol, code, ORIGIN)

    assert accounts.confirm_email_change(ctx, principal, carol, code, ORIGIN).email == carol
    moved = stored(ctx, carol)
    assert moved.id == user.id and moved.email_verified_at is not None
    notice = mailer.to(user.email)[-1]
    assert notice.tag == "email_changed" and "c***@example.com" in notice.text
    assert isinstance(login.login(ctx, carol, PASSWORD, ORIGIN), sessions.IssuedSession)
    with pytest.raises(InvalidCredentials):
        login.login(ctx, user.email, PASSWORD, ORIGIN)
    with pytest.raises(InvalidCode):
        accounts.confirm_email_change(ctx, principal, carol, code, ORIGIN)


def test_an_address_change_kills_links_sent_to_the_old_address(
    ctx: Context,
    make_user: Callable[..., users.User],
    principal_for: Callable[[users.User], sessions.Principal],
    mailer: MemoryMailer,
) -> None:
    user = make_user()
    reset.request_reset(ctx, user.email, ORIGIN)
    principal = elevate(ctx, principal_for(user))
    accounts.change_email(ctx, principal, "carol@example.com", ORIGIN)
    code = code_in(mailer.last("email_change_code"))
    accounts.confirm_email_change(ctx, principal, "carol@example.com", code, ORIGIN)
    token = mailer.last("password_reset").text.split("token=")[1].split()[0]
    with pytest.raises(InvalidCode):
        reset.reset_status(ctx, token)


def test_a_mail_failure_never_loses_the_registration(ctx: Context, mailer: MemoryMailer) -> None:
    mailer.failing = True
    assert accounts.register(ctx, BOB, PASSWORD, ORIGIN).email == BOB
    assert stored(ctx, BOB).email_verified_at is None


def test_no_secret_reaches_the_audit_log(
    ctx: Context,
    mailer: MemoryMailer,
    principal_for: Callable[[users.User], sessions.Principal],
) -> None:
    accounts.register(ctx, BOB, PASSWORD, ORIGIN)
    message = mailer.last("email_verification")
    code, token = code_in(message), link_token(message)
    with pytest.raises(InvalidCode):
        accounts.verify_email(ctx, BOB, other_code(code), ORIGIN)
    accounts.verify_email_link(ctx, token, ORIGIN)
    principal = elevate(ctx, principal_for(stored(ctx, BOB)))
    with pytest.raises(InvalidInput):
        accounts.change_password(ctx, principal, "wrong " + PASSWORD, NEW_PASSWORD, ORIGIN)
    accounts.change_password(ctx, principal, PASSWORD, NEW_PASSWORD, ORIGIN)
    with ctx.db.transaction(readonly=True) as tx:
        events = audit.query(tx, limit=500)
    assert {"account.register", "email.verified", "password.changed"} <= {e.event for e in events}
    secrets = [code, token, token.partition(".")[2], PASSWORD, NEW_PASSWORD]
    for event in events:
        assert not [s for s in secrets if s in repr(event)], event
