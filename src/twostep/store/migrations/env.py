"""Alembic environment: migrate the database the caller hands over, nothing global.

The target comes from the Alembic config, never from settings or the environment:
``config.attributes["connection"]`` (an open connection outside any transaction, as
:mod:`twostep.store.migrate` passes) or the ``sqlalchemy.url`` main option. All revisions
run in one transaction, on SQLite too.

SQLite: foreign keys are switched off while migrating, because batch mode rebuilds a table
by dropping it, and with ``foreign_keys=ON`` that drop would cascade-delete child rows; the
result is checked with ``PRAGMA foreign_key_check`` before commit. PostgreSQL: an advisory
lock serialises workers that start together and all try to migrate.
"""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import JSON, Connection, text

from twostep.store.db import make_engine
from twostep.store.tables import metadata
from twostep.store.types import UTCDateTime

# An arbitrary constant naming twostep's migration lock among advisory locks.
_PG_LOCK_KEY = 0x7477_6F73_7465_70


def _render_item(kind: str, obj: Any, autogen: AutogenContext) -> str | Literal[False]:
    """Render twostep's column types as plain SQLAlchemy, so revisions never import the app."""
    if kind != "type":
        return False
    if isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    if isinstance(obj, JSON):
        autogen.imports.add("from sqlalchemy.dialects import postgresql")
        return "sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')"
    return False


def _driver_sql(connection: Connection, statement: str) -> None:
    """Run a statement on the raw driver connection, outside SQLAlchemy's transaction."""
    driver: Any = connection.connection.driver_connection
    driver.execute(statement)


def _run(connection: Connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=sqlite,
        # SQLite's DDL is transactional too; saying so makes Alembic run all revisions in
        # one BEGIN IMMEDIATE, which also serialises processes migrating at once.
        transactional_ddl=True,
        compare_type=True,
        render_item=_render_item,
    )
    if sqlite:
        if connection.in_transaction():
            raise RuntimeError("pass a connection outside any transaction (SQLite needs it)")
        _driver_sql(connection, "PRAGMA foreign_keys = OFF")
    try:
        with context.begin_transaction():
            if connection.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
            context.run_migrations()
            if sqlite:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"migration left dangling foreign keys: {broken[:5]}")
    finally:
        if sqlite:
            _driver_sql(connection, "PRAGMA foreign_keys = ON")


def _offline() -> None:
    context.configure(
        url=context.config.get_main_option("sqlalchemy.url"),
        target_metadata=metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def _online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no database: set sqlalchemy.url or pass a connection")
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            _run(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    _offline()
else:
    _online()
