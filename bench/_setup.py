"""Shared helpers of the service and HTTP benchmarks: databases, seeded accounts, verdicts.

* :func:`database` yields a migrated, empty database URL: SQLite in a temporary file, or
  PostgreSQL, either on the server named by ``TWOSTEP_BENCH_DATABASE_URL`` (a fresh
  database is created there and dropped afterwards, so its role needs ``CREATEDB``) or on a
  throwaway cluster built from ``/usr/lib/postgresql/*/bin`` in a temporary directory (as
  the ``postgres`` user when running as root, on a free loopback port, fsync off), stopped
  and removed at the end, also on error.
* :func:`seed` inserts many verified users, each with one active TOTP device and one live
  session, straight into the ``twostep.store`` tables, with a single precomputed password
  hash: argon2 is deliberately slow and is not what these benchmarks measure.
  :func:`insert_rows` is the batch insert it uses (``COPY`` on PostgreSQL, ``executemany``
  on SQLite; a value every row shares is converted once).
"""

from __future__ import annotations

import base64
import glob
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy import Table, event
from sqlalchemy.engine import Connection, make_url

from twostep.otp import encode_secret
from twostep.security import Keyring, Sealed, keyed_hash
from twostep.services.factors import device_owner
from twostep.store import Database, devices, migrate, sessions, tables, users

PASSWORD = "correct horse battery staple"
BACKENDS = ("sqlite", "postgresql")
MACHINE_NOTE = (
    f"machine: {os.cpu_count()} CPU cores, shared by the load generator, the server and the "
    "database; absolute figures are those of this machine, the ratios travel better"
)


REPOSITORY = Path(__file__).resolve().parent.parent
"""The source tree these scripts belong to."""


def source_version(root: Path = REPOSITORY) -> str:
    """The commit of the tree at ``root``, marked when its ``src/`` has local changes."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "src"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{head} (plus uncommitted changes in src/)" if dirty else head


def exit_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit, so ``finally`` blocks stop what the benchmark started."""

    def handler(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def tree_cpu_seconds(root: int | None) -> float:
    """CPU seconds (user + system, all threads) used so far by a process and its live
    descendants (PostgreSQL backends leave their parent's process group, so follow parents)."""
    if root is None:
        return 0.0
    parent: dict[int, int] = {}
    ticks: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rpartition(")")[2].split()  # fields[0] is field 3 of proc(5): state
        pid = int(entry.name)
        parent[pid] = int(fields[1])
        ticks[pid] = int(fields[11]) + int(fields[12])  # utime, stime
    total = 0
    for pid, used in ticks.items():
        node = pid
        while node > 1 and node != root:
            node = parent.get(node, 0)
        if node == root:
            total += used
    return total / os.sysconf("SC_CLK_TCK")


def stop_group(process: subprocess.Popen[Any], *, sig: int = signal.SIGTERM) -> None:
    """Stop a process started with ``start_new_session=True`` and all its children."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait(timeout=5)


# --- PostgreSQL ----------------------------------------------------------------------------


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(False)


def _normalise(url: str) -> str:
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(False)


def _find_bindir() -> Path:
    def version(path: str) -> float:
        try:
            return float(Path(path).parent.parent.name)
        except ValueError:
            return 0.0

    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=version)
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb is None:
        raise SystemExit(
            "PostgreSQL not found: install the Debian package 'postgresql' "
            "or set TWOSTEP_BENCH_DATABASE_URL"
        )
    return Path(initdb).parent


@dataclass(frozen=True, slots=True)
class PgServer:
    """A PostgreSQL server: an admin URL, and its process group when we started it."""

    url: str
    pid: int | None = None


@contextmanager
def postgres_cluster() -> Iterator[PgServer]:
    """A throwaway PostgreSQL cluster on 127.0.0.1."""
    bindir = _find_bindir()
    base = Path(tempfile.mkdtemp(prefix="twostep-bench-pg-"))
    run_as: dict[str, Any] = {}
    if os.geteuid() == 0:
        account = pwd.getpwnam("postgres")
        os.chown(base, account.pw_uid, account.pw_gid)
        run_as = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}
    port = free_port()
    process: subprocess.Popen[bytes] | None = None
    try:
        data = base / "data"
        initdb = [str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust"]
        initdb += ["-E", "UTF8", "--locale=C", "--no-sync"]
        done = subprocess.run(
            initdb, cwd=base, capture_output=True, text=True, timeout=120, check=False, **run_as
        )
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed:\n{done.stdout}\n{done.stderr}")
        settings = {
            "listen_addresses": "127.0.0.1",
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "max_connections": "200",
        }
        command = [str(bindir / "postgres"), "-D", str(data), "-p", str(port), "-k", str(base)]
        for name, value in settings.items():
            command += ["-c", f"{name}={value}"]
        with open(base / "postgres.log", "wb") as log:
            process = subprocess.Popen(
                command,
                cwd=base,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                **run_as,
            )
        conninfo = f"host=127.0.0.1 port={port} user=postgres dbname=postgres"
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError("PostgreSQL exited during start")
            try:
                psycopg.connect(conninfo, connect_timeout=2).close()
                break
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise RuntimeError("PostgreSQL did not start within 30 s") from None
                time.sleep(0.05)
        yield PgServer(f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres", process.pid)
    finally:
        if process is not None:
            stop_group(process, sig=signal.SIGINT)  # SIGINT: PostgreSQL's "fast" shutdown
        shutil.rmtree(base, ignore_errors=True)


@contextmanager
def postgres_server() -> Iterator[PgServer]:
    """The server named by ``TWOSTEP_BENCH_DATABASE_URL``, or a throwaway cluster."""
    configured = os.environ.get("TWOSTEP_BENCH_DATABASE_URL")
    if configured:
        yield PgServer(_normalise(configured))
        return
    with postgres_cluster() as server:
        yield server


@contextmanager
def postgres_database(admin_url: str, *, upgrade: bool = True) -> Iterator[str]:
    """A new database on the server of ``admin_url`` (migrated unless ``upgrade`` is false),
    dropped afterwards."""
    name = f"twostep_bench_{secrets.token_hex(4)}"
    with psycopg.connect(_libpq(admin_url), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        url = make_url(admin_url).set(database=name).render_as_string(False)
        if upgrade:
            migrate.upgrade(url)
        yield url
    finally:
        with psycopg.connect(_libpq(admin_url), autocommit=True) as conn:
            drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
            conn.execute(drop.format(sql.Identifier(name)))


@contextmanager
def sqlite_database(*, upgrade: bool = True) -> Iterator[str]:
    """A SQLite file in a temporary directory (migrated unless ``upgrade`` is false),
    removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="twostep-bench-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'twostep.sqlite3'}"
        if upgrade:
            migrate.upgrade(url)
        yield url


@contextmanager
def database(
    backend: str, postgres: PgServer | None = None, *, upgrade: bool = True
) -> Iterator[str]:
    """An empty database of ``backend`` (on ``postgres``, or a server of its own), migrated
    by the ``twostep`` this process imports unless ``upgrade`` is false (then whoever uses
    it migrates it, e.g. a subprocess running another source tree)."""
    if backend == "sqlite":
        with sqlite_database(upgrade=upgrade) as url:
            yield url
        return
    if postgres is not None:
        with postgres_database(postgres.url, upgrade=upgrade) as url:
            yield url
        return
    with postgres_server() as server, postgres_database(server.url, upgrade=upgrade) as url:
        yield url


# --- accounts ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Account:
    """A seeded user with one active device (raw key) and one live session."""

    user_id: str
    email: str
    device_id: str
    session_id: str
    key: bytes


def insert_rows(tx: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """``INSERT`` ``rows`` (dicts with the same keys) in one batch: ``COPY`` on PostgreSQL,
    the driver's ``executemany`` on SQLite.

    Each value is converted for the database by its column type's bind processor, as
    ``tx.execute(table.insert(), rows)`` would, but a value shared by every row (the seeding
    timestamps, ``amr``) is converted once: SQLAlchemy converting the same datetimes again
    for every row was most of the seeding time. Only columns with server-side defaults may
    be left out of the rows (no table here has a Python-side default).
    """
    if not rows:
        return
    dialect = tx.dialect
    names = list(rows[0])
    missing = [name for name in names if name not in table.c]
    if missing:
        raise ValueError(f"{table.name} has no column {', '.join(missing)}")
    columns: list[list[Any]] = []
    for name in names:
        values = [row[name] for row in rows]
        process = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            first = values[0]
            if all(value is first for value in values):
                values = [process(first)] * len(values)
            else:
                values = [process(value) for value in values]
        columns.append(values)
    if dialect.name == "postgresql":
        statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
            sql.Identifier(table.name), sql.SQL(", ").join(map(sql.Identifier, names))
        )
        raw: Any = tx.connection.dbapi_connection  # psycopg's own connection
        with raw.cursor() as cursor, cursor.copy(statement) as copy:
            for row in zip(*columns, strict=True):
                copy.write_row(row)
        return
    compiled = table.insert().compile(dialect=dialect, column_keys=names)
    if not compiled.positional or sorted(compiled.positiontup or ()) != sorted(names):
        raise ValueError(f"unexpected parameters of the insert into {table.name}")
    index = {name: i for i, name in enumerate(names)}
    order = [columns[index[name]] for name in compiled.positiontup or ()]
    tx.exec_driver_sql(str(compiled), list(zip(*order, strict=True)))


def seed_ids(count: int) -> list[str]:
    """``count`` uuid4s in their 36-character text form, as ``twostep.store.new_id`` makes
    them, built from one call to the random source."""
    blob = secrets.token_hex(16 * count)
    made = []
    for at in range(0, 32 * count, 32):
        h = blob[at : at + 32]
        made.append(
            f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"
        )
    return made


@contextmanager
def seeding_database(url: str) -> Iterator[Database]:
    """A :class:`Database` to seed with, disposed afterwards: on SQLite its connections
    neither wait for the disk at commit nor evict index pages (``synchronous = OFF``, a
    256 MiB page cache), which makes seeding 200,000 accounts several times faster. Those
    settings belong to its own connections only; the server opens its own."""
    db = Database.from_url(url)
    if db.dialect == "sqlite":

        def fast(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA synchronous = OFF")
            cursor.execute("PRAGMA cache_size = -262144")
            cursor.close()

        event.listen(db.engine, "connect", fast)
    try:
        yield db
    finally:
        db.dispose()


def seed(
    db: Database,
    keyring: Keyring,
    *,
    count: int,
    at: datetime,
    password_hash: str,
    prefix: str = "bench",
    start: int = 0,
    batch: int = 20_000,
) -> list[Account]:
    """Insert ``count`` verified users, each with one active device and one live session.

    Rows go in by the ``batch`` (:func:`insert_rows` on the ``twostep.store`` tables, shaped
    as :func:`users.create`, :func:`devices.create_pending` + :func:`devices.confirm` and
    :func:`sessions.create` shape them; one statement per row would make seeding slower than
    the benchmark), then the first and last accounts are read back through the repositories.
    Every device has a secret of its own, sealed for it. Each device is confirmed at a step
    well before ``at``, so a code at ``at`` or later is accepted once. Sessions live for 30
    days from ``at``.
    """
    confirmed_step = int(at.timestamp() // 30) - 10
    expires_at = at + timedelta(days=30)
    amr = ["pwd"]
    made: list[Account] = []
    for first in range(start, start + count, batch):
        user_rows: list[dict[str, Any]] = []
        device_rows: list[dict[str, Any]] = []
        session_rows: list[dict[str, Any]] = []
        last = min(first + batch, start + count)
        ids = iter(seed_ids(3 * (last - first)))
        keys = [secrets.token_bytes(20) for _ in range(first, last)]
        # 20 bytes are 32 base32 characters exactly: one call encodes the whole batch
        texts = base64.b32encode(b"".join(keys))
        for n, i in enumerate(range(first, last)):
            user_id, device_id, session_id = next(ids), next(ids), next(ids)
            email = f"{prefix}{i}@example.com"
            key = keys[n]
            secret = texts[32 * n : 32 * n + 32]  # encode_secret(key), checked below
            sealed = keyring.encrypt(secret, owner=device_owner(device_id))
            user_rows.append(
                {"id": user_id, "email": email, "password_hash": password_hash,
                 "email_verified_at": at, "role": "user", "is_active": True, "token_version": 0,
                 "created_at": at}
            )  # fmt: skip
            device_rows.append(
                {"id": device_id, "user_id": user_id, "name": "Phone",
                 "secret_ciphertext": sealed.ciphertext, "key_id": sealed.key_id,
                 "algorithm": "SHA1", "digits": 6, "period": 30, "status": "active",
                 "weak": False, "created_at": at, "confirmed_at": at,
                 "last_used_step": confirmed_step, "last_used_at": at}
            )  # fmt: skip
            session_rows.append(
                {"id": session_id, "user_id": user_id, "family_id": session_id,
                 "refresh_hash": keyed_hash(keyring.pepper, f"refresh:{session_id}"),
                 "purpose": "full", "amr": amr, "auth_time": at, "created_at": at,
                 "expires_at": expires_at, "last_seen_at": at, "revoked_at": None,
                 "elevated_until": None, "ip": None, "user_agent": None}
            )  # fmt: skip
            made.append(Account(user_id, email, device_id, session_id, key))
        with db.transaction() as tx:
            insert_rows(tx, tables.users, user_rows)
            insert_rows(tx, tables.totp_devices, device_rows)
            insert_rows(tx, tables.sessions, session_rows)
    with db.transaction(readonly=True) as tx:
        for account in {made[0], made[-1]} if made else ():
            user = users.get(tx, account.user_id)
            device = devices.get(tx, account.device_id, user_id=account.user_id)
            session = sessions.get_active(tx, account.session_id, at)
            if user is None or device is None or device.status != "active" or session is None:
                raise RuntimeError("seeded rows do not read back through the repositories")
            if user.email != account.email or user.email_verified_at != at:
                raise RuntimeError("a seeded user does not read back as written")
            if session.expires_at != expires_at or list(session.amr) != amr:
                raise RuntimeError("a seeded session does not read back as written")
            opened = keyring.decrypt(
                Sealed(device.key_id, device.secret_ciphertext), owner=device_owner(device.id)
            )
            if opened != encode_secret(account.key).encode("ascii"):
                raise RuntimeError("a seeded device secret does not decrypt")
    return made


# --- reporting -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Check:
    """One target: ``value op target``."""

    name: str
    value: float
    op: str
    target: float
    unit: str = ""

    @property
    def ok(self) -> bool:
        return {"<=": self.value <= self.target, ">=": self.value >= self.target}[self.op]


def report(checks: Sequence[Check]) -> int:
    """Print one PASS/MISS line per target; how many were missed."""
    width = max((len(c.name) for c in checks), default=0)
    for c in checks:
        verdict = "PASS" if c.ok else "MISS"
        value = f"{c.value:,.2f}{c.unit}"
        target = f"{c.target:,.2f}{c.unit}"
        print(f"{c.name:<{width}}  {value:>12}  target {c.op} {target:<10} {verdict}")
    sys.stdout.flush()
    return sum(not c.ok for c in checks)
