"""Migrations build the whole schema from empty, and it equals the metadata, on each engine."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from tests.store.workers import migrate_main
from tests.support.concurrency import in_processes
from twostep.store import make_engine, migrate
from twostep.store.tables import metadata


def test_upgrade_from_empty_matches_metadata(blank_database_url: str) -> None:
    engine = make_engine(blank_database_url)
    try:
        assert migrate.current_revision(engine) is None
        assert not migrate.is_current(engine)
        migrate.upgrade(engine)
        assert migrate.current_revision(engine) == migrate.head_revision()
        assert migrate.is_current(engine)
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, metadata) == []
            tables = set(inspect(conn).get_table_names())
        assert set(metadata.tables) <= tables
    finally:
        engine.dispose()


def test_upgrade_is_idempotent_and_downgrade_drops_everything(blank_database_url: str) -> None:
    migrate.upgrade(blank_database_url)
    migrate.upgrade(blank_database_url)
    assert migrate.is_current(blank_database_url)
    migrate.downgrade(blank_database_url, "base")
    engine = make_engine(blank_database_url)
    try:
        assert migrate.current_revision(engine) is None
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    finally:
        engine.dispose()
    migrate.upgrade(blank_database_url)
    assert migrate.is_current(blank_database_url)


def test_migrations_ship_inside_the_package() -> None:
    assert migrate.SCRIPT_LOCATION.startswith("twostep.store:")
    assert migrate.head_revision()


def test_workers_migrating_at_once_do_not_collide(blank_database_url: str) -> None:
    """Two server processes starting together both migrate; neither fails.

    Processes, not threads: Alembic's ``context`` is process-global.
    """
    assert in_processes(migrate_main, [(blank_database_url,)] * 2, timeout=60) == [None, None]
    assert migrate.is_current(blank_database_url)


def test_sqlite_foreign_keys_are_back_on_after_migrating(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.sqlite3'}", pool_size=1, max_overflow=0)
    try:
        migrate.upgrade(engine)
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        engine.dispose()


@pytest.mark.parametrize("url", ["sqlite:///offline.db", "postgresql+psycopg://u@h/offline"])
def test_offline_mode_renders_sql(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    command.upgrade(migrate.alembic_config(url=url), "head", sql=True)
    rendered = capsys.readouterr().out
    assert "CREATE TABLE totp_devices" in rendered
    assert "CREATE UNIQUE INDEX" not in rendered or "uq_" in rendered
