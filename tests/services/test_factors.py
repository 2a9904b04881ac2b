"""Checking a second factor, on SQLite and PostgreSQL: what a refusal says, and what a
tampered row can and cannot do.

Behaviour only, through sign-in and step-up: the factor check is shared by every flow
(DESIGN §4.4).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select, update

from tests.services.conftest import ORIGIN, PASSWORD, Enrolled, code_at
from tests.services.support import challenge_id
from twostep.clock import ManualClock
from twostep.errors import DecryptionError, InvalidCode, TooManyAttempts
from twostep.services import enrollment, login, sessions, step_up
from twostep.services.context import Context
from twostep.store import users
from twostep.store.tables import totp_devices


def test_a_secret_copied_onto_another_device_row_does_not_open(
    ctx: Context,
    enrolled: Enrolled,
    clock: ManualClock,
    make_user: Callable[..., users.User],
    principal_for: Callable[[users.User], sessions.Principal],
) -> None:
    """Someone who can write the database moves Alice's sealed secret onto Bob's device.

    The ciphertext is bound to its row, so it fails to decrypt there: Alice's code never
    signs Bob in.
    """
    bob = make_user("bob@example.com")
    started = enrollment.begin(ctx, principal_for(bob), "Bob's phone", ORIGIN)
    enrollment.confirm(
        ctx, principal_for(bob), started.device_id, code_at(started.secret, clock), ORIGIN
    )
    with ctx.db.transaction() as tx:
        sealed = tx.execute(
            select(totp_devices.c.secret_ciphertext, totp_devices.c.key_id).where(
                totp_devices.c.id == enrolled.device_id
            )
        ).one()
        tx.execute(
            update(totp_devices)
            .where(totp_devices.c.id == started.device_id)
            .values(secret_ciphertext=sealed.secret_ciphertext, key_id=sealed.key_id)
        )
    clock.advance(30)
    before = sessions.list_active(ctx, bob.id)
    challenge = login.login(ctx, "bob@example.com", PASSWORD, ORIGIN)
    assert isinstance(challenge, login.ChallengeIssued)
    with pytest.raises(DecryptionError):
        login.complete(ctx, challenge.challenge_id, ORIGIN, code=code_at(enrolled.secret, clock))
    assert sessions.list_active(ctx, bob.id) == before


def test_the_code_just_used_is_refused_as_already_used(
    ctx: Context, enrolled: Enrolled, clock: ManualClock
) -> None:
    code = code_at(enrolled.secret, clock)
    issued = login.complete(ctx, challenge_id(ctx), ORIGIN, code=code)
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
            login.complete(ctx, challenge_id(ctx), ORIGIN, code="000000")
        left.append(caught.value.attempts_left)
    assert left == list(range(threshold - 1, 0, -1))
    with pytest.raises(TooManyAttempts) as locked:
        login.complete(ctx, challenge_id(ctx), ORIGIN, code="000000")
    assert locked.value.locked
