"""Backup codes: stored as keyed hashes, consumed at most once (DESIGN §4.2).

:func:`consume` is one conditional ``UPDATE … SET used_at=:at WHERE user_id=:u AND
code_hash=:h AND used_at IS NULL`` on the ``(user_id, code_hash)`` unique index: of any
number of concurrent attempts with the same code, exactly one changes the row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update

from twostep.store._sql import new_id
from twostep.store.db import Tx
from twostep.store.tables import backup_codes

__all__ = ["BackupCodeStatus", "consume", "delete_all", "replace_batch", "status"]


@dataclass(frozen=True, slots=True)
class BackupCodeStatus:
    """What a user may know about their codes: how many are left, of how many, since when."""

    remaining: int
    total: int
    created_at: datetime | None


def delete_all(tx: Tx, user_id: str) -> int:
    """Delete every code of the user (2FA off, admin reset); how many went."""
    return tx.execute(backup_codes.delete().where(backup_codes.c.user_id == user_id)).rowcount


def replace_batch(
    tx: Tx, user_id: str, code_hashes: Sequence[str], at: datetime, *, batch_id: str | None = None
) -> str:
    """Regenerate: the old batch dies and the new one is stored, in the caller's transaction.

    Returns the new batch id (``batch_id`` or a fresh one); with no hashes, only the old
    batch goes.
    """
    delete_all(tx, user_id)
    batch = batch_id or new_id()
    if code_hashes:
        tx.execute(
            backup_codes.insert(),
            [
                {
                    "id": new_id(),
                    "user_id": user_id,
                    "batch_id": batch,
                    "code_hash": code_hash,
                    "created_at": at,
                    "used_at": None,
                }
                for code_hash in code_hashes
            ],
        )
    return batch


def consume(tx: Tx, user_id: str, code_hash: str, at: datetime) -> bool:
    """Use the code with this hash: True for exactly one caller, False if unknown or used."""
    stmt = (
        update(backup_codes)
        .where(
            backup_codes.c.user_id == user_id,
            backup_codes.c.code_hash == code_hash,
            backup_codes.c.used_at.is_(None),
        )
        .values(used_at=at)
    )
    return tx.execute(stmt).rowcount == 1


def status(tx: Tx, user_id: str) -> BackupCodeStatus:
    """Remaining and total codes and when the batch was made, in one aggregate query."""
    stmt = select(
        func.count().filter(backup_codes.c.used_at.is_(None)),
        func.count(),
        func.min(backup_codes.c.created_at),
    ).where(backup_codes.c.user_id == user_id)
    remaining, total, created_at = tx.execute(stmt).one()
    return BackupCodeStatus(remaining=int(remaining), total=int(total), created_at=created_at)
