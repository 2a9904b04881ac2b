"""Helpers for the store tests: a fixed instant and one-call builders for common rows."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.store.moments import T0, later
from twostep.store import Database, Tx, devices, users

__all__ = ["T0", "add_device", "add_user", "later"]


def add_user(tx: Tx, email: str = "alice@example.com", **kwargs: object) -> users.User:
    """Create a user or fail the test."""
    user = users.create(tx, email=email, password_hash="$argon2id$fake", at=T0, **kwargs)  # type: ignore[arg-type]
    assert user is not None
    return user


def add_device(
    tx: Tx, user_id: str, *, active: bool = True, name: str = "phone", at: datetime = T0
) -> str:
    """Create a device (confirmed at step 100 unless ``active=False``); its id."""
    device = devices.create_pending(
        tx, user_id=user_id, name=name, secret_ciphertext=b"\x00" * 48, key_id="k1", at=at
    )
    if active:
        assert devices.confirm(tx, device.id, step=100, at=T0)
    return device.id


@pytest.fixture
def user_id(db: Database) -> str:
    """The id of a committed user, alice@example.com."""
    with db.transaction() as tx:
        return add_user(tx).id
