"""Checking a second factor, on SQLite and PostgreSQL: what a tampered row can and cannot do.

Behaviour only, through sign-in: the factor check is shared by every flow (DESIGN §4.4).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select, update

from tests.services.conftest import ORIGIN, PASSWORD, Enrolled, code_at
from twostep.clock import ManualClock
from twostep.errors import DecryptionError
from twostep.services import enrollment, login, sessions
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
