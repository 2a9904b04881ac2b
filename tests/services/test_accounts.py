"""Registration, address verification, and changing the password or the address."""

from __future__ import annotations

import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.services.conftest import ORIGIN, PASSWORD
from tests.services.support import code_in, mark_elevated, other_code
from twostep.clock import ManualClock
from twostep.errors import (
    ElevationRequired,
    InvalidCode,
    InvalidCredentials,
    InvalidInput,
    TooManyAttempts,
    Unauthenticated,
    VerificationRequired,
    WeakPassword,
)
from twostep.mail import MemoryMailer, Message
from twostep.services import accounts, email_codes, enrollment, login, reset, sessions
from twostep.services.context import Context
from twostep.store import audit, backup_codes, devices, user_listing, users

NEW_PASSWORD = "a different long passphrase"
BOB = "bob@example.com"


def link_token(message: Message) -> str:
    found = re.search(r"https://auth\.example\.test/verify-email\?token=(\S+)", message.text)
    assert found is not None, message.text
    return found.group(1)


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
        found = user_listing.count_users(
            tx, at=ctx.clock.now(), lock_key_prefix="otp:user:", query="bob@"
        )
    assert found == 1


def test_the_code_verifies_the_address_and_the_link_then_dies(
    ctx: Context, mailer: MemoryMailer
) -> None:
    accounts.register(ctx, BOB, PASSWORD, ORIGIN)
    message = mailer.last("email_verification")
    verified = accounts.verify_email(
        ctx, "Bob@Example.com", code_in(message), ORIGIN, password=PASSWORD
    )
    assert verified.email == BOB
    assert stored(ctx, BOB).email_verified_at == ctx.clock.now()
    with pytest.raises(InvalidCode):
        accounts.verify_email_link(ctx, link_token(message), ORIGIN, password=PASSWORD)


def test_the_link_verifies_the_address_once(ctx: Context, mailer: MemoryMailer) -> None:
    accounts.register(ctx, BOB, PASSWORD, ORIGIN)
    message = mailer.last("email_verification")
    token = link_token(message)
    assert accounts.verify_email_link(ctx, token, ORIGIN, password=PASSWORD).email == BOB
    assert stored(ctx, BOB).email_verified_at is not None
    for dead in (token, code_in(message)):
        with pytest.raises(InvalidCode):
            accounts.verify_email_link(ctx, dead, ORIGIN, password=PASSWORD)
    with pytest.raises(InvalidCode):
        accounts.verify_email(ctx, BOB, code_in(message), ORIGIN, password=PASSWORD)


@pytest.mark.parametrize("token", ["", ".", "nope", "x" * 80 + ".abc", "00000000-0000.x"])
def test_a_malformed_link_is_refused(ctx: Context, token: str) -> None:
    with pytest.raises(InvalidCode):
        accounts.verify_email_link(ctx, token, ORIGIN, password=PASSWORD)


def test_five_wrong_codes_then_even_the_right_one_is_refused(
    ctx: Context, mailer: MemoryMailer, clock: ManualClock
) -> None:
    accounts.register(ctx, BOB, PASSWORD, ORIGIN)
    code = code_in(mailer.last("email_verification"))
    for _ in range(email_codes.MAX_ATTEMPTS):
        with pytest.raises(InvalidCode):
            accounts.verify_email(ctx, BOB, other_code(code), ORIGIN, password=PASSWORD)
    with pytest.raises(InvalidCode):
        accounts.verify_email(ctx, BOB, code, ORIGIN, password=PASSWORD)
    clock.advance(60)
    email_codes.request_code(ctx, BOB, "verify", ORIGIN)
    fresh = code_in(mailer.last("email_verification"))
    assert accounts.verify_email(ctx, BOB, fresh, ORIGIN, password=PASSWORD).email == BOB


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
        accounts.verify_email_link(ctx, link_token(old), ORIGIN, password=PASSWORD)
    if code_in(new) != code_in(old):  # a fresh code repeats the old one once in a million
        with pytest.raises(InvalidCode):
            accounts.verify_email(ctx, BOB, code_in(old), ORIGIN, password=PASSWORD)
    assert accounts.verify_email_link(ctx, link_token(new), ORIGIN, password=PASSWORD).email == BOB


def test_code_and_link_expire_after_ten_minutes(
    ctx: Context, mailer: MemoryMailer, clock: ManualClock
) -> None:
    accounts.register(ctx, BOB, PASSWORD, ORIGIN)
    message = mailer.last("email_verification")
    clock.advance(600)
    with pytest.raises(InvalidCode):
        accounts.verify_email(ctx, BOB, code_in(message), ORIGIN, password=PASSWORD)
    with pytest.raises(InvalidCode):
        accounts.verify_email_link(ctx, link_token(message), ORIGIN, password=PASSWORD)
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
    principal = mark_elevated(ctx, principal_for(make_user()))
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
    principal = mark_elevated(ctx, principal_for(user))
    accounts.change_password(ctx, principal, PASSWORD, NEW_PASSWORD, ORIGIN)
    assert sessions.resolve(ctx, principal.session.id).user.id == user.id
    with pytest.raises(Unauthenticated):
        sessions.resolve(ctx, other.session.id)
    with pytest.raises(InvalidCredentials):
        login.login(ctx, user.email, PASSWORD, ORIGIN)
    assert isinstance(login.login(ctx, user.email, NEW_PASSWORD, ORIGIN), sessions.IssuedSession)
    assert mailer.last().tag == "password_changed"


# --- changing the address -------------------------------------------------------------------


def test_change_email_needs_elevation_and_not_your_own_address(
    ctx: Context,
    make_user: Callable[..., users.User],
    principal_for: Callable[[users.User], sessions.Principal],
) -> None:
    principal = principal_for(make_user())
    with pytest.raises(ElevationRequired):
        accounts.change_email(ctx, principal, "carol@example.com", ORIGIN)
    principal = mark_elevated(ctx, principal)
    with pytest.raises(InvalidInput) as caught:
        accounts.change_email(ctx, principal, "ALICE@example.com", ORIGIN)
    assert caught.value.field == "email"
    with pytest.raises(InvalidInput) as wrong:
        accounts.change_email(ctx, principal, "carol@example.com", ORIGIN, password="nope")
    assert wrong.value.field == "current_password"


def test_a_taken_address_answers_like_a_free_one_and_its_owner_is_told(
    ctx: Context,
    mailer: MemoryMailer,
    make_user: Callable[..., users.User],
    principal_for: Callable[[users.User], sessions.Principal],
) -> None:
    """No enumeration through the address change (DESIGN §4.6): one answer, one message."""
    principal = mark_elevated(ctx, principal_for(make_user()))
    make_user(BOB)
    free = accounts.change_email(ctx, principal, "carol@example.com", ORIGIN)
    taken = accounts.change_email(ctx, principal, BOB, ORIGIN)
    assert (free.expires_in, type(free)) == (taken.expires_in, type(taken))
    assert [m.tag for m in mailer.to("carol@example.com")] == ["email_change_code"]
    (notice,) = mailer.to(BOB)
    assert notice.tag == "email_in_use" and not re.search(r"\b\d{6}\b", notice.text)
    assert stored(ctx, BOB).email == BOB  # nothing moved
    for address in ("carol@example.com", BOB):  # the same cooldown for both
        with pytest.raises(TooManyAttempts):
            accounts.change_email(ctx, principal, address, ORIGIN)
    assert len(mailer.to(BOB)) == 1


def test_change_email_switches_only_on_the_code_sent_to_the_new_address(
    ctx: Context,
    make_user: Callable[..., users.User],
    principal_for: Callable[[users.User], sessions.Principal],
    mailer: MemoryMailer,
) -> None:
    user = make_user()
    principal = mark_elevated(ctx, principal_for(user))
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
    principal = mark_elevated(ctx, principal_for(user))
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
        accounts.verify_email(ctx, BOB, other_code(code), ORIGIN, password=PASSWORD)
    accounts.verify_email_link(ctx, token, ORIGIN, password=PASSWORD)
    principal = mark_elevated(ctx, principal_for(stored(ctx, BOB)))
    with pytest.raises(InvalidInput):
        accounts.change_password(ctx, principal, "wrong " + PASSWORD, NEW_PASSWORD, ORIGIN)
    accounts.change_password(ctx, principal, PASSWORD, NEW_PASSWORD, ORIGIN)
    with ctx.db.transaction(readonly=True) as tx:
        events = audit.query(tx, limit=500)
    assert {"account.register", "email.verified", "password.changed"} <= {e.event for e in events}
    secrets = [code, token, token.partition(".")[2], PASSWORD, NEW_PASSWORD]
    for event in events:
        assert not [s for s in secrets if s in repr(event)], event


# --- an address is owned before it is trusted (DESIGN §4.13) ---------------------------------

SQUATTER_PASSWORD = "the squatter's long passphrase"


def test_a_squatter_cannot_keep_the_owner_out(
    ctx: Context, mailer: MemoryMailer, clock: ManualClock
) -> None:
    """Someone registers the owner's address first: they can neither bind a factor nor have
    the address verified for them, and the owner's reset link takes the account over."""
    accounts.register(ctx, BOB, SQUATTER_PASSWORD, ORIGIN)
    verification = mailer.last("email_verification")  # lands in the owner's mailbox
    squatter = login.login(ctx, BOB, SQUATTER_PASSWORD, ORIGIN)
    assert isinstance(squatter, sessions.IssuedSession)
    principal = sessions.resolve(ctx, squatter.session.id)
    with pytest.raises(VerificationRequired):
        enrollment.begin(ctx, principal, "Squatter's phone", ORIGIN)

    # The owner follows the link or types the code, without the squatter's password.
    with pytest.raises(InvalidInput) as by_link:
        accounts.verify_email_link(ctx, link_token(verification), ORIGIN)
    with pytest.raises(InvalidInput) as by_code:
        accounts.verify_email(ctx, BOB, code_in(verification), ORIGIN)
    for refused in (by_link.value, by_code.value):
        assert refused.field == "password" and "Reset the password" in refused.message
    with pytest.raises(InvalidInput):
        accounts.verify_email(ctx, BOB, code_in(verification), ORIGIN, password="a guess")
    assert stored(ctx, BOB).email_verified_at is None

    # The reset link proves the address: no factor asked, the squatter's session ends.
    reset.request_reset(ctx, BOB, ORIGIN)
    found = re.search(r"reset-password\?token=(\S+)", mailer.last("password_reset").text)
    assert found is not None
    assert not reset.reset_status(ctx, found.group(1)).requires_code
    reset.complete_reset(ctx, found.group(1), NEW_PASSWORD, ORIGIN)
    assert stored(ctx, BOB).email_verified_at is not None
    with pytest.raises(Unauthenticated):
        sessions.resolve(ctx, principal.session.id)
    with pytest.raises(InvalidCredentials):
        login.login(ctx, BOB, SQUATTER_PASSWORD, ORIGIN)
    owner = login.login(ctx, BOB, NEW_PASSWORD, ORIGIN)
    assert isinstance(owner, sessions.IssuedSession)
    started = enrollment.begin(ctx, sessions.resolve(ctx, owner.session.id), "Phone", ORIGIN)
    assert started.device_id


def test_the_registrant_verifies_from_their_session_or_with_their_password(
    ctx: Context, mailer: MemoryMailer
) -> None:
    accounts.register(ctx, BOB, PASSWORD, ORIGIN)
    message = mailer.last("email_verification")
    issued = login.login(ctx, BOB, PASSWORD, ORIGIN)
    assert isinstance(issued, sessions.IssuedSession)
    principal = sessions.resolve(ctx, issued.session.id)
    verified = accounts.verify_email_link(ctx, link_token(message), ORIGIN, principal=principal)
    assert verified.email == BOB and stored(ctx, BOB).email_verified_at is not None

    accounts.register(ctx, "carol@example.com", PASSWORD, ORIGIN)
    carol = mailer.last("email_verification")
    with pytest.raises(InvalidInput):  # Bob's session proves nothing about Carol's account
        accounts.verify_email(ctx, "carol@example.com", code_in(carol), ORIGIN, principal=principal)
    done = accounts.verify_email(
        ctx, "carol@example.com", code_in(carol), ORIGIN, password=PASSWORD
    )
    assert done.email == "carol@example.com"


def test_a_reset_reclaims_an_unverified_account_that_holds_a_device(
    ctx: Context, mailer: MemoryMailer, clock: ManualClock
) -> None:
    """Older data: an unverified account with an active device. The reset link does not ask
    for that device's code; it discards the device and the backup codes."""
    accounts.register(ctx, BOB, SQUATTER_PASSWORD, ORIGIN)
    user = stored(ctx, BOB)
    with ctx.db.transaction() as tx:
        pending = devices.create_pending(
            tx, user_id=user.id, name="Squatter", secret_ciphertext=b"x" * 40, key_id="k",
            at=clock.now(),
        )  # fmt: skip
        assert devices.confirm(tx, pending.id, step=1, at=clock.now())
        backup_codes.replace_batch(tx, user.id, ["h1", "h2"], clock.now())
    reset.request_reset(ctx, BOB, ORIGIN)
    found = re.search(r"reset-password\?token=(\S+)", mailer.last("password_reset").text)
    assert found is not None
    reset.complete_reset(ctx, found.group(1), NEW_PASSWORD, ORIGIN)
    with ctx.db.transaction(readonly=True) as tx:
        assert devices.count_active(tx, user.id) == 0
        assert backup_codes.status(tx, user.id).remaining == 0
        (event,) = audit.query(tx, event="account.reclaimed")
    assert event.details == {"devices_discarded": 1}
