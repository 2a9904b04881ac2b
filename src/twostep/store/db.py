"""Engines and the transaction handle the services use.

Services open one transaction per use case and pass its connection to the repositories::

    db = Database.from_url(settings.resolved_database_url)
    with db.transaction() as tx:
        user = users.get_by_email(tx, email)
        ...

The ``with`` block commits on success and rolls back on any exception. Repositories never
commit, so everything a use case writes (its change, its counters, its audit row) lands
together or not at all. A use case that must keep a failure counter while refusing the
request says so with one idiom: it raises :class:`Refusal` inside the block, the block commits
(the counter, its audit row), and the refusal's error propagates in its place. Work that must
wait for the commit (a notification email) is handed to :func:`after_commit`, and runs only if
the transaction committed, a refused one included. Transactions do not nest: pass
``tx`` down instead (on SQLite a second writer in the same thread would wait on itself, so
a nested :meth:`Database.transaction` raises at once on every engine).

SQLite invariant: every transaction starts with ``BEGIN IMMEDIATE``, taking the write lock up
front. The default deferred ``BEGIN`` would upgrade a read lock to a write lock mid-way, and
in WAL mode that upgrade fails at once with "database is locked" whenever another writer
committed first: the busy timeout cannot help. Taking the lock first turns contention into a
short, bounded wait (``busy_timeout``), which is what makes the conditional updates safe
across threads and processes. Read-only transactions (``readonly=True``) use a plain
``BEGIN`` and never block writers, thanks to WAL.

Nothing here runs at import time: engines exist only when :func:`make_engine` is called.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeAlias

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import ConnectionPoolEntry, StaticPool

__all__ = ["Database", "Refusal", "Tx", "after_commit", "make_engine"]

Tx: TypeAlias = Connection
"""The transaction handle repositories take: a Core connection inside ``BEGIN``."""

_READONLY = "twostep_readonly"
_AFTER_COMMIT = "twostep_after_commit"


class Refusal(Exception):  # noqa: N818 - a signal to the unit of work, not an error itself
    """Refuse the use case but keep what its transaction wrote (DESIGN §4.3).

    Raised inside :meth:`Database.transaction`: the transaction commits (the failure it
    counted, the audit row that says so), then ``error`` is raised in its place. Any other
    exception rolls the whole transaction back.
    """

    def __init__(self, error: Exception) -> None:
        super().__init__(error)
        self.error = error


def after_commit(tx: Tx, action: Callable[[], None]) -> None:
    """Run ``action`` once ``tx`` has committed (never if it rolls back).

    For the side effects a change reports, such as the email that tells an owner their account
    locked: it must not go out for a change that did not happen.
    """
    actions = tx.info.get(_AFTER_COMMIT)
    if actions is None:
        raise RuntimeError("after_commit needs a transaction opened by Database.transaction")
    actions.append(action)


def make_engine(
    url: str,
    *,
    busy_timeout: float = 5.0,
    pool_size: int = 10,
    max_overflow: int = 20,
    **options: Any,
) -> Engine:
    """Build an engine for a SQLite or PostgreSQL URL, tuned for twostep.

    SQLite: WAL journal, ``foreign_keys=ON``, ``synchronous=NORMAL`` (durable against
    process crashes; a power cut may drop the last commit), a busy timeout in seconds, and
    ``BEGIN IMMEDIATE`` write transactions (see the module docstring). ``sqlite://`` (in
    memory) shares one connection and suits single-threaded experiments only.

    A new SQLite file is created mode 0600 (:func:`create_private`).

    PostgreSQL (``postgresql+psycopg://``; a bare ``postgresql://`` is given psycopg): a
    pool of ``pool_size`` + ``max_overflow`` connections, pre-ping, recycling, UTC sessions.
    Extra keyword ``options`` go to :func:`sqlalchemy.create_engine`.
    """
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(url, busy_timeout, options)
    if backend == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        if "poolclass" not in options:
            options.update(pool_size=pool_size, max_overflow=max_overflow)
            options.setdefault("pool_pre_ping", True)
            options.setdefault("pool_recycle", 1800)
        connect_args = options.pop("connect_args", {})
        connect_args.setdefault("options", "-c timezone=UTC")
        return create_engine(parsed, connect_args=connect_args, **options)
    raise ValueError(f"unsupported database URL {parsed.render_as_string()!r}")


def _sqlite_engine(url: str, busy_timeout: float, options: dict[str, Any]) -> Engine:
    database = make_url(url).database
    in_memory = database in (None, "", ":memory:")
    connect_args = options.pop("connect_args", {})
    connect_args.setdefault("timeout", busy_timeout)
    if in_memory:
        connect_args.setdefault("check_same_thread", False)
        options.setdefault("poolclass", StaticPool)
    engine = create_engine(url, connect_args=connect_args, **options)

    if not in_memory and not str(database).startswith("file:"):
        path = Path(str(database))

        @event.listens_for(engine, "do_connect")
        def _before_connect(*_args: Any) -> None:
            create_private(path)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            cursor.execute("PRAGMA foreign_keys = ON")
            if not in_memory:
                _ensure_wal(cursor, busy_timeout)
                cursor.execute("PRAGMA synchronous = NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        readonly = conn.get_execution_options().get(_READONLY, False)
        conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")

    return engine


def create_private(path: Path) -> None:
    """Create the database file for this user alone (0600) if it does not exist yet.

    SQLite would create it 0644 (less the umask): readable by every local user, with every
    password hash, audit row and sealed secret in it. SQLite gives the ``-wal`` and ``-shm``
    files the permissions of the database file, so they are private too. An existing file
    keeps its mode. The directory is the caller's (the data directory is made 0700); when
    it is missing, SQLite's own open reports that.
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError:
        return
    os.close(fd)


def _ensure_wal(cursor: Any, timeout: float) -> None:
    """Switch the file to WAL (a persistent setting), tolerating a concurrent first opener.

    The switch needs an exclusive lock, and SQLite reports "locked" at once instead of
    waiting when another process is opening the same new file; so retry until our switch
    works or we see the other process's, within the busy timeout.
    """
    deadline = time.monotonic() + timeout
    while True:
        if str(cursor.execute("PRAGMA journal_mode").fetchone()[0]).lower() == "wal":
            return
        try:
            cursor.execute("PRAGMA journal_mode = WAL").fetchall()
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


class Database:
    """An engine plus the one way services talk to it: :meth:`transaction`."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._local = threading.local()
        # SQLite has one writer at a time. Threads of this process queue here, in order,
        # instead of polling the file lock with growing sleeps (and timing out under load);
        # other processes still meet the busy timeout.
        self._writer = threading.Lock() if engine.dialect.name == "sqlite" else None

    @classmethod
    def from_url(cls, url: str, **engine_options: Any) -> Database:
        """Build the engine with :func:`make_engine` and wrap it."""
        return cls(make_engine(url, **engine_options))

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self.engine.dialect.name

    @contextmanager
    def transaction(self, *, readonly: bool = False) -> Iterator[Tx]:
        """Yield a connection inside a transaction; commit on success, roll back on error.

        ``readonly=True`` is for pure reads (listings, introspection): on SQLite it does
        not take the write lock, on PostgreSQL it opens a ``READ ONLY`` transaction.
        """
        if getattr(self._local, "open", False):
            raise RuntimeError("transactions do not nest: pass the open `tx` down instead")
        self._local.open = True
        writer = None if readonly else self._writer
        if writer is not None:
            writer.acquire()
        actions: list[Callable[[], None]] = []
        refusal: Refusal | None = None
        try:
            with self.engine.connect() as conn:
                if readonly:
                    conn.execution_options(**{_READONLY: True})
                    if self.dialect == "postgresql":
                        conn.execution_options(postgresql_readonly=True)
                conn.info[_AFTER_COMMIT] = actions
                try:
                    with conn.begin():
                        try:
                            yield conn
                        except Refusal as exc:
                            refusal = exc  # leaving the block normally commits
                finally:
                    conn.info.pop(_AFTER_COMMIT, None)  # pooled connections outlive us
        finally:
            if writer is not None:
                writer.release()
            self._local.open = False
        for action in actions:  # reached only after the commit
            action()
        if refusal is not None:
            raise refusal.error

    def ping(self) -> bool:
        """True when the database answers a trivial query (for readiness probes)."""
        try:
            with self.transaction(readonly=True) as tx:
                tx.execute(text("SELECT 1"))
        except SQLAlchemyError:
            return False
        return True

    @contextmanager
    def exclusive(self, name: str) -> Iterator[bool]:
        """Whether this process holds the cluster-wide lock ``name`` for the ``with`` block.

        PostgreSQL: a session advisory lock (``pg_try_advisory_lock``) on a connection of
        its own, so only one node runs a job such as the purge at a time; the others get
        False at once and skip it. SQLite lives on one machine and serialises writers
        itself: always True.
        """
        if self.dialect != "postgresql":
            yield True
            return
        key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
        with self.engine.connect() as conn:
            held = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar())
            conn.commit()  # the lock belongs to the session; the connection idles meanwhile
            try:
                yield held
            finally:
                if held:
                    try:
                        conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                        conn.commit()
                    except SQLAlchemyError:
                        conn.invalidate()  # closing the session releases the lock

    def backup(self, target: Path) -> None:
        """Copy a consistent snapshot of this SQLite database to ``target`` (created 0600).

        Uses SQLite's online backup API, so the service keeps running meanwhile. The copy
        is a self-contained file (rollback journal, no ``-wal``). ``target`` must not exist.
        PostgreSQL databases are backed up with ``pg_dump`` instead (ValueError here).
        """
        if self.dialect != "sqlite":
            raise ValueError("only SQLite databases are backed up here; use pg_dump")
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)
        try:
            raw = self.engine.raw_connection()
            try:
                source = raw.driver_connection
                assert isinstance(source, sqlite3.Connection)  # noqa: S101 - the sqlite engine
                copy = sqlite3.connect(target)
                try:
                    source.backup(copy)
                    copy.execute("PRAGMA journal_mode = DELETE").fetchall()
                finally:
                    copy.close()
            finally:
                raw.close()
        except BaseException:
            target.unlink(missing_ok=True)
            raise

    def restore_from(self, source: Database) -> None:
        """Replace this SQLite database's content with ``source``'s (the backup API).

        The whole copy is one write transaction of SQLite's: a reader sees the old
        database or the new one, never a mix. Stop the service first all the same.
        """
        if self.dialect != "sqlite" or source.dialect != "sqlite":
            raise ValueError("only SQLite databases are restored here; use pg_restore")
        url = self.engine.url
        if url.database:
            create_private(Path(url.database))
        into = self.engine.raw_connection()
        raw = source.engine.raw_connection()
        try:
            target, origin = into.driver_connection, raw.driver_connection
            assert isinstance(target, sqlite3.Connection)  # noqa: S101 - sqlite engines
            assert isinstance(origin, sqlite3.Connection)  # noqa: S101
            origin.backup(target)
        finally:
            raw.close()
            into.close()

    def dispose(self) -> None:
        """Close every pooled connection (at shutdown, or in a child after ``fork``)."""
        self.engine.dispose()

    def __repr__(self) -> str:
        return f"Database({self.engine.url.render_as_string(hide_password=True)!r})"
