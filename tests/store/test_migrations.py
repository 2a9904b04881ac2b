"""Migrations build the whole schema from empty, and it equals the metadata, on each engine."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

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
