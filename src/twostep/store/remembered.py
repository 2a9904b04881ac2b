"""Remembered browsers: the keyed hash of a token that lets a browser skip the code step.

A token counts only while unexpired, and only for the user it was issued to; every change
that should make the owner prove a second factor again deletes all of them at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, select, update

from twostep.store._sql import clip, delete_where, new_id
from twostep.store.db import Tx
from twostep.store.tables import remembered_browsers

__all__ = [
    "RememberedBrowser",
    "create",
    "delete",
    "delete_all_for_user",
    "delete_expired",
    "list_for_user",
    "use",
]

r = remembered_browsers.c


@dataclass(frozen=True, slots=True)
class RememberedBrowser:
    """A browser that may skip the code step until ``expires_at``."""

    id: str
    user_id: str
    token_hash: str
    user_agent: str | None
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None


def _browser(row: Row[Any]) -> RememberedBrowser:
    return RememberedBrowser(**row._mapping)


def create(
    tx: Tx, *, user_id: str, token_hash: str, user_agent: str | None, at: datetime,
    expires_at: datetime,
) -> RememberedBrowser:  # fmt: skip
    """Remember a browser by the hash of its token."""
    values: dict[str, Any] = {
        "id": new_id(),
        "user_id": user_id,
        "token_hash": token_hash,
        "user_agent": clip(user_agent, 128),
        "created_at": at,
        "expires_at": expires_at,
        "last_used_at": None,
    }
    tx.execute(remembered_browsers.insert().values(**values))
    return RememberedBrowser(**values)


def use(tx: Tx, user_id: str, token_hash: str, at: datetime) -> bool:
    """Whether ``token_hash`` is a live remembered browser of ``user_id`` (and mark it used)."""
    stmt = (
        update(remembered_browsers)
        .where(r.token_hash == token_hash, r.user_id == user_id, r.expires_at > at)
        .values(last_used_at=at)
    )
    return tx.execute(stmt).rowcount == 1


def list_for_user(tx: Tx, user_id: str, at: datetime) -> list[RememberedBrowser]:
    """The user's live remembered browsers, newest first."""
    stmt = (
        select(remembered_browsers)
        .where(r.user_id == user_id, r.expires_at > at)
        .order_by(r.created_at.desc(), r.id)
    )
    return [_browser(row) for row in tx.execute(stmt)]


def delete(tx: Tx, browser_id: str, user_id: str) -> bool:
    """Forget one of the user's browsers; False when it is not theirs."""
    stmt = remembered_browsers.delete().where(r.id == browser_id, r.user_id == user_id)
    return tx.execute(stmt).rowcount == 1


def delete_all_for_user(tx: Tx, user_id: str) -> int:
    """Forget every browser of the user; how many went."""
    return tx.execute(remembered_browsers.delete().where(r.user_id == user_id)).rowcount


def delete_expired(tx: Tx, before: datetime, *, limit: int | None = None) -> int:
    """Housekeeping: drop remembered browsers that expired before ``before``."""
    return delete_where(tx, remembered_browsers, r.expires_at < before, limit)
