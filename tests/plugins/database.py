"""Database fixtures: every store and service test runs on SQLite *and* a real PostgreSQL.

Use them by name; any test that asks for ``db`` (or ``database_url``) runs twice::

    def test_login(db: Database) -> None:           # -> test_login[sqlite], [postgresql]
        with db.transaction() as tx:
            ...

Fixtures
--------
``database_backend``
    ``"sqlite"`` or ``"postgresql"``; the parametrization point. The PostgreSQL case carries
    the ``postgres`` marker, so ``pytest -m "not postgres"`` runs SQLite only.
``database_url``
    A migrated database holding no rows, for this test alone. SQLite: a fresh file in
    ``tmp_path`` (copied from a migrated template; not ``:memory:``, so several processes
    can share it). PostgreSQL: the session's migrated database, every table truncated just
    before the test (cloning a database per test costs far more). Dispose every engine you
    open on it (``db`` does) so the next truncation is not kept waiting.
``blank_database_url``
    A brand-new database without any table (a new PostgreSQL database, dropped after the
    test): for migration tests.
``db``
    A :class:`twostep.store.Database` on ``database_url``, disposed after the test.
``postgres_server``
    The session's PostgreSQL server (:class:`PostgresServer`). ``TWOSTEP_TEST_DATABASE_URL``
    names an existing one (its role needs ``CREATEDB``); otherwise a throwaway cluster is
    built from ``/usr/lib/postgresql/*/bin`` in a temporary directory (as the ``postgres``
    user when running as root, since initdb refuses root), started on a free loopback port,
    and stopped and removed at the end of the session. Without binaries the PostgreSQL cases
    skip, or fail under ``CI=true``.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import make_url

from tests.support.tools import unavailable
from twostep.store import Database, make_engine, migrate
from twostep.store.tables import metadata

__all__ = ["PostgresServer"]

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
]
_RUN = secrets.token_hex(3)
_names = itertools.count(1)


@dataclass(frozen=True)
class PostgresServer:
    """A PostgreSQL server the suite may create and drop databases on."""

    admin_url: str
    """SQLAlchemy URL (``postgresql+psycopg://``) of a database to run admin commands from."""

    def url(self, database: str) -> str:
        """SQLAlchemy URL of ``database`` on this server."""
        return make_url(self.admin_url).set(database=database).render_as_string(False)

    def _admin(self) -> psycopg.Connection[Any]:
        libpq = make_url(self.admin_url).set(drivername="postgresql").render_as_string(False)
        return psycopg.connect(libpq, autocommit=True)

    def create_database(self) -> str:
        """Create an empty database with a name unique to this run; its name."""
        name = f"twostep_{_RUN}_{next(_names)}"
        with self._admin() as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return name

    def drop_database(self, name: str) -> None:
        """Drop a database, disconnecting whoever still holds it."""
        with self._admin() as conn:
            query = sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name))
            if conn.info.server_version >= 130000:
                query += sql.SQL(" WITH (FORCE)")
            conn.execute(query)


def _normalise(url: str) -> str:
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(False)


def _find_bindir() -> Path | None:
    def version(path: str) -> float:
        try:
            return float(Path(path).parent.parent.name)
        except ValueError:
            return 0.0

    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=version)
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _LocalCluster:
    """A throwaway cluster in a temporary directory, tuned for speed over durability."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.base = Path(tempfile.mkdtemp(prefix="twostep-pg-"))
        self.port = _free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.run_as: dict[str, Any] = {}
        if os.geteuid() == 0:
            account = pwd.getpwnam("postgres")
            os.chown(self.base, account.pw_uid, account.pw_gid)
            self.run_as = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _log_tail(self) -> str:
        try:
            return (self.base / "postgres.log").read_text(errors="replace")[-2000:]
        except OSError:
            return ""

    def start(self) -> None:
        data = self.base / "data"
        initdb: list[str | Path] = [self.bindir / "initdb", "-D", data, "-U", "postgres"]
        initdb += ["-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"]
        init = subprocess.run(
            initdb,
            cwd=self.base,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            **self.run_as,
        )
        if init.returncode != 0:
            pytest.fail(f"initdb failed:\n{init.stdout}\n{init.stderr}")
        settings = {
            "listen_addresses": "127.0.0.1",
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "max_connections": "200",
        }
        command: list[str | Path] = [self.bindir / "postgres", "-D", data, "-p", str(self.port)]
        command += ["-k", str(self.base)]
        for name, value in settings.items():
            command += ["-c", f"{name}={value}"]
        with open(self.base / "postgres.log", "wb") as log:
            self.process = subprocess.Popen(
                command, cwd=self.base, stdout=log, stderr=subprocess.STDOUT, **self.run_as
            )
        self._wait_ready(deadline=time.monotonic() + 30)

    def _wait_ready(self, deadline: float) -> None:
        assert self.process is not None
        conninfo = f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres"
        while True:
            if self.process.poll() is not None:
                pytest.fail(f"PostgreSQL exited during start:\n{self._log_tail()}")
            try:
                psycopg.connect(conninfo, connect_timeout=2).close()
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    pytest.fail(f"PostgreSQL did not start in time:\n{self._log_tail()}")
                time.sleep(0.05)

    def stop(self) -> None:
        try:
            if self.process is not None and self.process.poll() is None:
                self.process.send_signal(signal.SIGINT)  # "fast" shutdown
                try:
                    self.process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait(timeout=5)
        finally:
            shutil.rmtree(self.base, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """The session's PostgreSQL server: the configured one, or a throwaway local cluster."""
    configured = os.environ.get("TWOSTEP_TEST_DATABASE_URL")
    if configured:
        yield PostgresServer(_normalise(configured))
        return
    bindir = _find_bindir()
    if bindir is None:
        unavailable("PostgreSQL not found: install the Debian package 'postgresql'")
        raise AssertionError("unreachable")
    cluster = _LocalCluster(bindir)
    try:
        cluster.start()
        yield PostgresServer(cluster.url)
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def postgres_database(postgres_server: PostgresServer) -> Iterator[str]:
    """URL of the session's migrated database; :func:`database_url` empties it per test."""
    name = postgres_server.create_database()
    try:
        url = postgres_server.url(name)
        migrate.upgrade(url)
        yield url
    finally:
        postgres_server.drop_database(name)


@pytest.fixture(scope="session")
def _postgres_truncator(postgres_database: str) -> Iterator[psycopg.Connection[Any]]:
    libpq = make_url(postgres_database).set(drivername="postgresql").render_as_string(False)
    with psycopg.connect(libpq, autocommit=True) as conn:
        conn.execute("SET lock_timeout = '10s'")
        yield conn


def _truncate_all(conn: psycopg.Connection[Any]) -> None:
    names = sql.SQL(", ").join(sql.Identifier(table.name) for table in metadata.sorted_tables)
    conn.execute(sql.SQL("TRUNCATE TABLE {} RESTART IDENTITY CASCADE").format(names))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated, empty SQLite file that per-test databases are copied from."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    try:
        migrate.upgrade(engine)
        raw = engine.raw_connection()  # outside any transaction, as checkpoints require
        try:
            raw.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            raw.close()
    finally:
        engine.dispose()
    return path


@pytest.fixture(params=BACKENDS)
def database_backend(request: pytest.FixtureRequest) -> str:
    """Which engine this test runs on: ``"sqlite"`` or ``"postgresql"``."""
    return cast(str, request.param)


def _fresh_url(
    request: pytest.FixtureRequest, backend: str, tmp_path: Path, migrated: bool
) -> Iterator[str]:
    if backend == "sqlite":
        path = tmp_path / "twostep.sqlite3"
        if migrated:
            shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    if migrated:
        url: str = request.getfixturevalue("postgres_database")
        _truncate_all(request.getfixturevalue("_postgres_truncator"))
        yield url
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    name = server.create_database()
    try:
        yield server.url(name)
    finally:
        server.drop_database(name)


@pytest.fixture
def database_url(
    request: pytest.FixtureRequest, database_backend: str, tmp_path: Path
) -> Iterator[str]:
    """A fresh, migrated, empty database for this test, on each backend."""
    yield from _fresh_url(request, database_backend, tmp_path, migrated=True)


@pytest.fixture
def blank_database_url(
    request: pytest.FixtureRequest, database_backend: str, tmp_path: Path
) -> Iterator[str]:
    """A fresh database with no tables at all, on each backend."""
    yield from _fresh_url(request, database_backend, tmp_path, migrated=False)


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    """The :class:`~twostep.store.Database` the services under test should use."""
    database = Database.from_url(database_url)
    try:
        yield database
    finally:
        database.dispose()
