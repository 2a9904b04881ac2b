"""Run and inspect the Alembic migrations shipped inside the package.

No ``alembic.ini`` is needed: the configuration is built in code and points at
``twostep.store:migrations``, so an installed wheel can migrate its own database::

    from twostep.store import migrate
    migrate.upgrade("sqlite:///data/twostep.sqlite3")
    assert migrate.is_current(engine)

Invariant: the schema a revision chain produces equals :data:`twostep.store.tables.metadata`
on SQLite and on PostgreSQL (a test compares them with Alembic's autogenerate).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine

from twostep.store.db import Database, make_engine

__all__ = ["current_revision", "downgrade", "head_revision", "is_current", "upgrade"]

Target = str | Engine | Database
SCRIPT_LOCATION = "twostep.store:migrations"


def alembic_config(connection: Connection | None = None, url: str | None = None) -> Config:
    """An Alembic ``Config`` for twostep's scripts, bound to a connection or a URL."""
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@contextmanager
def _engine(target: Target) -> Iterator[Engine]:
    if isinstance(target, Database):
        yield target.engine
    elif isinstance(target, Engine):
        yield target
    else:
        engine = make_engine(target, pool_size=1, max_overflow=0)
        try:
            yield engine
        finally:
            engine.dispose()


def upgrade(target: Target, revision: str = "head") -> None:
    """Migrate the database forward to ``revision`` (default: the newest), in one transaction."""
    with _engine(target) as engine, engine.connect() as conn:
        command.upgrade(alembic_config(conn), revision)


def downgrade(target: Target, revision: str) -> None:
    """Migrate backwards to ``revision`` (``"base"`` drops every table)."""
    with _engine(target) as engine, engine.connect() as conn:
        command.downgrade(alembic_config(conn), revision)


def current_revision(target: Target) -> str | None:
    """The revision the database is at, or ``None`` for an unmigrated database."""
    with _engine(target) as engine, engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str:
    """The newest revision shipped with this version of twostep."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError("no migration scripts found in the package")
    return head


def is_current(target: Target) -> bool:
    """True when the database is at the newest revision (what production requires to start)."""
    return current_revision(target) == head_revision()
