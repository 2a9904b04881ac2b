"""Engines, transactions and column types behave the same on both databases."""

from __future__ import annotations

import functools
import os
import sqlite3
import stat
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select, text

from tests.store.conftest import T0, add_device, add_user
from tests.support.concurrency import named, together
from twostep.store import Database, Refusal, after_commit, devices, make_engine, migrate, users
from twostep.store.tables import audit_events


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path: Path) -> None:
    db = Database.from_url(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    try:
        with db.transaction() as tx:
            assert tx.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert tx.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert tx.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000
    finally:
        db.dispose()


@pytest.fixture
def open_umask() -> Iterator[None]:
    """A permissive umask (0022, the usual default), restored afterwards."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.usefixtures("open_umask")
def test_a_new_sqlite_database_is_private(tmp_path: Path) -> None:
    path = tmp_path / "twostep.sqlite3"
    db = Database.from_url(f"sqlite:///{path}")
    try:
        migrate.upgrade(db)
        with db.transaction() as tx:
            add_user(tx)
        wal, shm = Path(f"{path}-wal"), Path(f"{path}-shm")
        assert wal.exists() and shm.exists()
        assert {p.name: _mode(p) for p in (path, wal, shm)} == {
            path.name: 0o600,
            wal.name: 0o600,
            shm.name: 0o600,
        }
    finally:
        db.dispose()


@pytest.mark.usefixtures("open_umask")
def test_an_existing_sqlite_file_keeps_its_mode(tmp_path: Path) -> None:
    path = tmp_path / "shared.sqlite3"
    sqlite3.connect(path).close()
    path.chmod(0o640)
    db = Database.from_url(f"sqlite:///{path}")
    try:
        assert db.ping()
        assert _mode(path) == 0o640
    finally:
        db.dispose()


def test_sqlite_in_memory_works_for_quick_experiments() -> None:
    db = Database.from_url("sqlite://")
    with db.transaction() as tx:
        assert tx.execute(text("SELECT 1")).scalar() == 1


def test_urls_are_checked_and_postgres_gets_psycopg() -> None:
    with pytest.raises(ValueError, match="unsupported"):
        make_engine("mysql://localhost/x")
    engine = make_engine("postgresql://u@localhost/x")
    assert engine.url.drivername == "postgresql+psycopg"
    engine.dispose()


def test_transaction_commits_on_success_and_rolls_back_on_error(db: Database) -> None:
    with db.transaction() as tx:
        add_user(tx, "kept@example.com")
    with pytest.raises(RuntimeError), db.transaction() as tx:
        add_user(tx, "lost@example.com")
        raise RuntimeError("boom")
    with db.transaction(readonly=True) as tx:
        assert users.get_by_email(tx, "kept@example.com") is not None
        assert users.get_by_email(tx, "lost@example.com") is None


def test_a_refusal_commits_the_transaction_then_raises_its_error(db: Database) -> None:
    sent: list[str] = []

    class Wrong(Exception):
        pass

    with pytest.raises(Wrong):
        with db.transaction() as tx:
            add_user(tx, "kept@example.test")
            after_commit(tx, lambda: sent.append("kept"))
            raise Refusal(Wrong())
    with pytest.raises(Wrong):
        with db.transaction() as tx:
            add_user(tx, "lost@example.test")
            after_commit(tx, lambda: sent.append("lost"))
            raise Wrong()
    with db.transaction(readonly=True) as tx:
        assert users.get_by_email(tx, "kept@example.test") is not None
        assert users.get_by_email(tx, "lost@example.test") is None
    assert sent == ["kept"]  # an action waits for the commit, and dies with a rollback


def test_after_commit_needs_a_unit_of_work(db: Database) -> None:
    with db.engine.connect() as conn, pytest.raises(RuntimeError):
        after_commit(conn, lambda: None)


def test_timestamps_are_aware_utc_and_naive_ones_are_refused(db: Database) -> None:
    plus_two = T0.astimezone(timezone(timedelta(hours=2)))
    with db.transaction() as tx:
        user = add_user(tx, email_verified_at=plus_two)
    with db.transaction() as tx:
        stored = users.get(tx, user.id)
    assert stored is not None and stored.email_verified_at is not None
    assert stored.created_at == T0 and stored.created_at.tzinfo is not None
    assert stored.created_at.utcoffset() == timedelta(0)
    assert stored.email_verified_at == T0
    with pytest.raises(Exception, match="naive datetime"), db.transaction() as tx:
        users.create(tx, email="n@example.com", password_hash="x", at=datetime(2024, 1, 1))


def test_deleting_a_user_cascades_to_owned_rows(db: Database) -> None:
    with db.transaction() as tx:
        user = add_user(tx)
        device_id = add_device(tx, user.id)
    with db.transaction() as tx:
        assert users.delete(tx, user.id)
    with db.transaction() as tx:
        assert devices.get(tx, device_id) is None


def test_foreign_keys_are_enforced(db: Database) -> None:
    with pytest.raises(Exception, match="(?i)foreign key"), db.transaction() as tx:
        add_device(tx, "no-such-user")


def test_read_then_write_transactions_do_not_fail_under_contention(db: Database) -> None:
    """The classic SQLite trap: deferred BEGIN + read + write => 'database is locked'."""

    def work(n: int) -> None:
        with db.transaction() as tx:
            tx.execute(select(audit_events.c.id).limit(1)).all()
            tx.execute(audit_events.insert(), {"at": T0, "event": f"e{n}", "outcome": "success"})

    assert named(together([functools.partial(work, n) for n in range(12)])) == ["ok"] * 12
    with db.transaction(readonly=True) as tx:
        assert len(tx.execute(select(audit_events.c.id)).all()) == 12


def test_sqlite_readers_are_not_blocked_by_a_writer(tmp_path: Path) -> None:
    """Two handles on one file, as two worker processes would have."""
    url = f"sqlite:///{tmp_path / 'x.sqlite3'}"
    first, second = (Database.from_url(url, busy_timeout=0.2) for _ in range(2))
    try:
        with first.transaction() as tx:
            tx.exec_driver_sql("CREATE TABLE t (a INTEGER)")
        with first.transaction() as writer:
            writer.exec_driver_sql("INSERT INTO t VALUES (1)")
            with second.transaction(readonly=True) as reader:
                assert reader.exec_driver_sql("SELECT count(*) FROM t").scalar() == 0
            with pytest.raises(Exception, match="locked"), second.transaction() as other:
                other.exec_driver_sql("SELECT 1")  # a second writer waits, then gives up
    finally:
        first.dispose()
        second.dispose()
    assert sqlite3.sqlite_version_info >= (3, 35)  # RETURNING and upserts are relied upon


def test_transactions_do_not_nest(db: Database) -> None:
    with db.transaction() as tx:
        with pytest.raises(RuntimeError, match="do not nest"), db.transaction():
            pass
        tx.execute(text("SELECT 1"))
    with db.transaction(readonly=True) as tx:  # the guard resets after the block
        tx.execute(text("SELECT 1"))


def test_ping(db: Database, tmp_path: Path) -> None:
    assert db.ping()
    unreachable = Database.from_url(f"sqlite:///{tmp_path / 'missing-dir' / 'x.sqlite3'}")
    assert not unreachable.ping()
    assert "Database(" in repr(db)
