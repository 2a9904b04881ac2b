"""Operator tasks: key rotation keeps every device working, and hand-made accounts."""

from __future__ import annotations

import pytest

from tests.services.conftest import ORIGIN, PASSWORD, Enrolled, code_at
from twostep.clock import ManualClock
from twostep.errors import InvalidInput, WeakPassword
from twostep.services import login, operations
from twostep.services.context import Context
from twostep.store import devices


def test_rekey_moves_every_secret_under_the_new_primary_key(
    ctx: Context, enrolled: Enrolled, clock: ManualClock
) -> None:
    old_key = ctx.keyring.primary_key_id
    ctx.keyring = ctx.keyring.rotated()
    report = operations.rekey_secrets(ctx, batch=1)
    assert report.reencrypted == 1
    assert report.primary_key_id == ctx.keyring.primary_key_id != old_key
    with ctx.db.transaction(readonly=True) as tx:
        device = devices.get(tx, enrolled.device_id)
    assert device is not None and device.key_id == ctx.keyring.primary_key_id
    assert operations.rekey_secrets(ctx).reencrypted == 0  # idempotent

    challenge = login.login(ctx, "alice@example.com", PASSWORD, ORIGIN)
    assert isinstance(challenge, login.ChallengeIssued)
    login.complete(ctx, challenge.challenge_id, ORIGIN, code=code_at(enrolled.secret, clock))


def test_create_user_makes_a_verified_admin_once(ctx: Context) -> None:
    admin = operations.create_user(ctx, " Root@Example.com", "a long admin passphrase", admin=True)
    assert admin.role == "admin" and admin.email == "root@example.com"
    assert admin.email_verified_at is not None
    with pytest.raises(InvalidInput) as caught:
        operations.create_user(ctx, "root@example.com", "another long passphrase")
    assert caught.value.field == "email"
    with pytest.raises(WeakPassword):
        operations.create_user(ctx, "weak@example.com", "password")
