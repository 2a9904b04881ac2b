"""Small SQL helpers shared by the repositories (internal).

The upsert helper picks the dialect's ``INSERT`` construct so one repository function can
say ``ON CONFLICT`` on both SQLite (3.35+) and PostgreSQL.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import ColumnElement, Connection, Table, select
from sqlalchemy.dialects import postgresql, sqlite

__all__ = ["clip", "delete_where", "insert_for", "new_id"]


def new_id() -> str:
    """A fresh row id: uuid4 as 36 characters of text."""
    return str(uuid.uuid4())


def clip(value: str | None, length: int) -> str | None:
    """Cut free-form client text (user agents) to its column width."""
    if value is None:
        return None
    return value[:length]


def insert_for(tx: Connection, table: Table) -> Any:
    """The dialect-specific ``INSERT`` for ``table``, which knows ``on_conflict_*``.

    Typed ``Any`` because the SQLite and PostgreSQL constructs share no common base that
    declares ``on_conflict_do_update``.
    """
    if tx.dialect.name == "postgresql":
        return postgresql.insert(table)
    if tx.dialect.name == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"unsupported database dialect {tx.dialect.name!r}")


def delete_where(
    tx: Connection, table: Table, condition: ColumnElement[bool], limit: int | None = None
) -> int:
    """Delete the rows of ``table`` that match ``condition``, at most ``limit`` of them.

    A bounded delete is ``DELETE … WHERE pk IN (SELECT pk … LIMIT n)`` (the portable form:
    SQLite is usually built without ``DELETE … LIMIT``), so a purge in small batches holds
    each transaction, and the write lock, only briefly.
    """
    if limit is None:
        return tx.execute(table.delete().where(condition)).rowcount
    if limit < 1:
        raise ValueError("limit must be positive")
    (key,) = table.primary_key.columns
    chosen = select(key).where(condition).limit(limit).scalar_subquery()
    return tx.execute(table.delete().where(key.in_(chosen))).rowcount
