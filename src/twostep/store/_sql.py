"""Small SQL helpers shared by the repositories (internal).

The upsert helper picks the dialect's ``INSERT`` construct so one repository function can
say ``ON CONFLICT`` on both SQLite (3.35+) and PostgreSQL.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite

__all__ = ["clip", "insert_for", "new_id"]


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
