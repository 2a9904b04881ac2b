"""TOTP devices: enrollment, the replay guard, management and key rotation.

The replay guard (DESIGN §4.1) lives in :func:`advance_step`: a code is accepted only if one
conditional ``UPDATE`` moves ``last_used_step`` strictly forward. Concurrent requests with
the same code race on that single row; the database lets exactly one of them change it, on
SQLite (write lock) and PostgreSQL (row lock, then re-check of the ``WHERE``) alike.
Confirming a device stores the confirming step too, so that code cannot log in afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Integer, Row, bindparam, func, select, update

from twostep.store._sql import new_id
from twostep.store.db import Tx
from twostep.store.tables import totp_devices, webauthn_credentials

__all__ = [
    "Algorithm",
    "Device",
    "DeviceStatus",
    "advance_step",
    "confirm",
    "count_active",
    "count_totp",
    "create_pending",
    "delete",
    "delete_all_for_user",
    "get",
    "list_for_rekey",
    "list_for_user",
    "rename",
    "replace_secret",
]

Algorithm = Literal["SHA1", "SHA256", "SHA512"]
DeviceStatus = Literal["pending", "active"]


@dataclass(frozen=True, slots=True)
class Device:
    """One authenticator of a user. The secret stays encrypted; the keyring opens it."""

    id: str
    user_id: str
    name: str
    secret_ciphertext: bytes
    key_id: str
    algorithm: Algorithm
    digits: int
    period: int
    status: DeviceStatus
    weak: bool
    created_at: datetime
    confirmed_at: datetime | None
    last_used_step: int | None
    last_used_at: datetime | None


def _device(row: Row[Any]) -> Device:
    return Device(**row._mapping)


def create_pending(
    tx: Tx,
    *,
    user_id: str,
    name: str,
    secret_ciphertext: bytes,
    key_id: str,
    at: datetime,
    algorithm: Algorithm = "SHA1",
    digits: int = 6,
    period: int = 30,
    weak: bool = False,
    device_id: str | None = None,
) -> Device:
    """Insert a device that is not usable until :func:`confirm`.

    Pass ``device_id`` (from :func:`twostep.store.new_id`) when the ciphertext's associated
    data binds it to the row, which it should (DESIGN §4.4).
    """
    values: dict[str, Any] = {
        "id": device_id or new_id(),
        "user_id": user_id,
        "name": name,
        "secret_ciphertext": secret_ciphertext,
        "key_id": key_id,
        "algorithm": algorithm,
        "digits": digits,
        "period": period,
        "status": "pending",
        "weak": weak,
        "created_at": at,
        "confirmed_at": None,
        "last_used_step": None,
        "last_used_at": None,
    }
    tx.execute(totp_devices.insert().values(**values))
    return Device(**values)


def get(tx: Tx, device_id: str, *, user_id: str | None = None) -> Device | None:
    """One device by primary key, optionally only if it belongs to ``user_id``."""
    stmt = select(totp_devices).where(totp_devices.c.id == device_id)
    if user_id is not None:
        stmt = stmt.where(totp_devices.c.user_id == user_id)
    row = tx.execute(stmt).first()
    return None if row is None else _device(row)


def list_for_user(tx: Tx, user_id: str, *, status: DeviceStatus | None = None) -> list[Device]:
    """The user's devices, oldest first; ``status="active"`` gives the ones to verify against.

    One statement on the ``(user_id, status)`` index.
    """
    stmt = select(totp_devices).where(totp_devices.c.user_id == user_id)
    if status is not None:
        stmt = stmt.where(totp_devices.c.status == status)
    stmt = stmt.order_by(totp_devices.c.created_at, totp_devices.c.id)
    return [_device(row) for row in tx.execute(stmt)]


def count_active(tx: Tx, user_id: str) -> int:
    """How many second factors the user has: confirmed TOTP devices plus security keys.

    0 means 2FA is off. A security key (:mod:`twostep.store.webauthn`) is active from the
    moment it is stored, so it counts here like a confirmed app.
    """
    totp = select(func.count()).where(
        totp_devices.c.user_id == user_id, totp_devices.c.status == "active"
    )
    keys = select(func.count()).where(webauthn_credentials.c.user_id == user_id)
    stmt = select(totp.scalar_subquery() + keys.scalar_subquery())
    return int(tx.execute(stmt).scalar_one())


def count_totp(tx: Tx, user_id: str) -> int:
    """How many confirmed TOTP devices the user has (security keys left out)."""
    stmt = select(func.count()).where(
        totp_devices.c.user_id == user_id, totp_devices.c.status == "active"
    )
    return int(tx.execute(stmt).scalar_one())


def confirm(tx: Tx, device_id: str, *, step: int, at: datetime) -> bool:
    """Activate a pending device and burn the confirming ``step``; True exactly once."""
    stmt = (
        update(totp_devices)
        .where(totp_devices.c.id == device_id, totp_devices.c.status == "pending")
        .values(status="active", confirmed_at=at, last_used_step=step, last_used_at=at)
    )
    return tx.execute(stmt).rowcount == 1


def advance_step(tx: Tx, device_id: str, step: int, at: datetime) -> bool:
    """Accept ``step`` for an active device: True for exactly one caller, never twice.

    ``UPDATE totp_devices SET last_used_step=:step, last_used_at=:at WHERE id=:id AND
    status='active' AND (last_used_step IS NULL OR last_used_step < :step)``; the code is
    accepted only when exactly one row changed. A step at or before the last accepted one is
    refused, so a code cannot be replayed, nor an older code used after a newer one.
    """
    params = {"device_id": device_id, "step": step, "at": at}
    return tx.execute(_ADVANCE, params).rowcount == 1


_ADVANCE = (
    update(totp_devices)
    .where(
        totp_devices.c.id == bindparam("device_id"),
        totp_devices.c.status == "active",
        totp_devices.c.last_used_step.is_(None)
        | (totp_devices.c.last_used_step < bindparam("step", type_=Integer)),
    )
    .values(last_used_step=bindparam("step"), last_used_at=bindparam("at"))
)
"""Built once: the hot path only binds new values (no statement building per code)."""


def rename(tx: Tx, device_id: str, user_id: str, name: str) -> bool:
    """Rename the user's device; False when it is not theirs."""
    stmt = (
        update(totp_devices)
        .where(totp_devices.c.id == device_id, totp_devices.c.user_id == user_id)
        .values(name=name)
    )
    return tx.execute(stmt).rowcount == 1


def delete(tx: Tx, device_id: str, user_id: str) -> bool:
    """Remove the user's device; False when it is not theirs."""
    stmt = totp_devices.delete().where(
        totp_devices.c.id == device_id, totp_devices.c.user_id == user_id
    )
    return tx.execute(stmt).rowcount == 1


def delete_all_for_user(tx: Tx, user_id: str) -> int:
    """Remove every device of the user (2FA off, admin reset); how many went."""
    return tx.execute(totp_devices.delete().where(totp_devices.c.user_id == user_id)).rowcount


def list_for_rekey(tx: Tx, *, current_key_id: str, limit: int = 500) -> list[Device]:
    """A batch of devices whose secret is not yet under ``current_key_id`` (key rotation)."""
    stmt = (
        select(totp_devices)
        .where(totp_devices.c.key_id != current_key_id)
        .order_by(totp_devices.c.id)
        .limit(limit)
    )
    return [_device(row) for row in tx.execute(stmt)]


def replace_secret(
    tx: Tx, device_id: str, *, ciphertext: bytes, key_id: str, expected_key_id: str
) -> bool:
    """Store a re-encrypted secret, only if nobody re-keyed the row since it was read."""
    stmt = (
        update(totp_devices)
        .where(totp_devices.c.id == device_id, totp_devices.c.key_id == expected_key_id)
        .values(secret_ciphertext=ciphertext, key_id=key_id)
    )
    return tx.execute(stmt).rowcount == 1


def key_ids_in_use(tx: Tx) -> list[str]:
    """The keyring key ids that sealed at least one stored secret (backup, restore, rotate)."""
    stmt = select(totp_devices.c.key_id).distinct().order_by(totp_devices.c.key_id)
    return list(tx.execute(stmt).scalars())
