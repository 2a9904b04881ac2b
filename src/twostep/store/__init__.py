"""Storage: SQLAlchemy Core tables, repositories and Alembic migrations.

Services open a transaction and hand its connection to the repository modules::

    from twostep.store import Database, devices

    db = Database.from_url(url)
    with db.transaction() as tx:
        if devices.advance_step(tx, device.id, step, at=now):
            ...

Repositories never commit: the ``with`` block is the unit of work. One repository module per
table (``users``, ``devices``, ``backup_codes``, ``challenges``, ``email_codes``,
``reset_tokens``, ``sessions``, ``throttles``, ``audit``, ``webauthn``, ``remembered``),
plus the operators' reads across tables (``user_listing``, ``stats``); each returns small
frozen dataclasses, never ORM objects. Only this package speaks SQL: services call these functions.
:mod:`twostep.store.migrate` creates and upgrades the schema. Importing this package builds
nothing: no engine exists until :func:`make_engine` is called.
"""

from __future__ import annotations

from twostep.store import (
    audit,
    backup_codes,
    challenges,
    devices,
    email_codes,
    factor_state,
    principals,
    refresh_tokens,
    remembered,
    reset_tokens,
    sessions,
    stats,
    throttles,
    user_listing,
    users,
    webauthn,
)
from twostep.store._sql import new_id
from twostep.store.db import Database, Refusal, Tx, after_commit, make_engine

__all__ = [
    "Database",
    "Refusal",
    "Tx",
    "after_commit",
    "audit",
    "backup_codes",
    "challenges",
    "devices",
    "email_codes",
    "factor_state",
    "make_engine",
    "new_id",
    "principals",
    "refresh_tokens",
    "remembered",
    "reset_tokens",
    "sessions",
    "stats",
    "throttles",
    "user_listing",
    "users",
    "webauthn",
]
