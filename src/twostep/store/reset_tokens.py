"""Password-reset tokens: stored hashed, single-use, expiring (DESIGN §4.8).

:func:`consume` is one conditional ``UPDATE … WHERE token_hash=:h AND used_at IS NULL AND
expires_at > :at RETURNING user_id``: a token works once, and never after it expires.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, select, update

from twostep.store._sql import delete_where, new_id
from twostep.store.db import Tx
from twostep.store.tables import reset_tokens

__all__ = ["ResetToken", "consume", "create", "delete_expired", "get_valid", "invalidate_all"]


@dataclass(frozen=True, slots=True)
class ResetToken:
    """A reset link's stored half: the hash of the token, never the token."""

    id: str
    user_id: str
    token_hash: str
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None


def _token(row: Row[Any]) -> ResetToken:
    return ResetToken(**row._mapping)


def create(
    tx: Tx, *, user_id: str, token_hash: str, at: datetime, expires_at: datetime
) -> ResetToken:
    """Store a new token hash for the user."""
    values: dict[str, Any] = {
        "id": new_id(),
        "user_id": user_id,
        "token_hash": token_hash,
        "created_at": at,
        "expires_at": expires_at,
        "used_at": None,
    }
    tx.execute(reset_tokens.insert().values(**values))
    return ResetToken(**values)


def get_valid(tx: Tx, token_hash: str, at: datetime) -> ResetToken | None:
    """The unused, unexpired token with this hash (to check before asking for a code)."""
    stmt = select(reset_tokens).where(
        reset_tokens.c.token_hash == token_hash,
        reset_tokens.c.used_at.is_(None),
        reset_tokens.c.expires_at > at,
    )
    row = tx.execute(stmt).first()
    return None if row is None else _token(row)


def consume(tx: Tx, token_hash: str, at: datetime) -> str | None:
    """Use the token: its user id for exactly one caller; ``None`` if unknown, used or expired."""
    stmt = (
        update(reset_tokens)
        .where(
            reset_tokens.c.token_hash == token_hash,
            reset_tokens.c.used_at.is_(None),
            reset_tokens.c.expires_at > at,
        )
        .values(used_at=at)
        .returning(reset_tokens.c.user_id)
    )
    return tx.execute(stmt).scalar_one_or_none()


def invalidate_all(tx: Tx, user_id: str, at: datetime) -> int:
    """Mark every unused token of the user as used (after a reset or a new request)."""
    stmt = (
        update(reset_tokens)
        .where(reset_tokens.c.user_id == user_id, reset_tokens.c.used_at.is_(None))
        .values(used_at=at)
    )
    return tx.execute(stmt).rowcount


def delete_expired(tx: Tx, before: datetime, *, limit: int | None = None) -> int:
    """Housekeeping: drop tokens that expired before ``before`` (at most ``limit``)."""
    return delete_where(tx, reset_tokens, reset_tokens.c.expires_at < before, limit)
