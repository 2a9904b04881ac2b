"""Retired refresh tokens: the hashes a rotation replaced, kept to recognise reuse (DESIGN §4.9).

A session row holds only its *current* refresh hash (``sessions.refresh_hash``). When
:func:`twostep.store.sessions.rotate_refresh` swaps it, the service records the old hash
here with :func:`retire`, in the same transaction. A presented hash that is found here was
already spent: someone replays a rotated token, so the service revokes the whole family.

Invariants: a hash is retired at most once (it is the primary key, and ``rotate_refresh``
succeeds for exactly one presenter); a retired row goes away with its session
(``ON DELETE CASCADE``), so :func:`twostep.store.sessions.delete_expired` is the only
housekeeping needed. Only hashes are stored, never tokens.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from twostep.store.db import Tx
from twostep.store.tables import refresh_tokens_retired as retired

__all__ = ["RetiredRefreshToken", "get", "retire"]


@dataclass(frozen=True, slots=True)
class RetiredRefreshToken:
    """A refresh-token hash that a rotation replaced, and the session it belonged to."""

    token_hash: str
    session_id: str
    family_id: str
    retired_at: datetime


def retire(
    tx: Tx, *, token_hash: str, session_id: str, family_id: str, at: datetime
) -> RetiredRefreshToken:
    """Record ``token_hash`` as spent (call it in the transaction that rotated it away)."""
    values: dict[str, Any] = {
        "token_hash": token_hash,
        "session_id": session_id,
        "family_id": family_id,
        "retired_at": at,
    }
    tx.execute(retired.insert().values(**values))
    return RetiredRefreshToken(**values)


def get(tx: Tx, token_hash: str) -> RetiredRefreshToken | None:
    """The retired entry for this hash, or ``None`` if it was never rotated away."""
    row = tx.execute(select(retired).where(retired.c.token_hash == token_hash)).first()
    return None if row is None else RetiredRefreshToken(**row._mapping)
