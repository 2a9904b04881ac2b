"""HTTP benchmark: the real server under ``wrk``, ``/healthz`` beside the TOTP verify path.

For each database (a temporary SQLite file; a throwaway PostgreSQL cluster, or the server
named by ``TWOSTEP_BENCH_DATABASE_URL``) and for 1 and 2 worker processes, the script starts
``python -m twostep serve`` on 127.0.0.1 and measures, in the same run, with ``wrk``:

* ``GET /healthz`` at 32 connections;
* ``POST /api/v1/auth/elevate`` with a valid code at 32 connections: every request is a
  different user, session and device (a Lua script walks a precomputed list of
  ``(access token, code)`` pairs, one per request), so every request verifies a fresh code;
* ``GET /healthz`` at 4 connections while a second ``wrk`` keeps 32 password logins
  (``POST /api/v1/auth/login``, argon2id) in flight: the login storm.

Accounts are seeded straight into the database (one precomputed password hash); access
tokens are minted with the server's own keyring file (``TWOSTEP_KEYRING``); codes are
computed for the step after the current one, so they stay valid for the whole run (window
±1; runs last at most 25 s). The per-minute rate limits are raised so they do not cap the
benchmark. Targets (DESIGN.md §7) are printed with PASS/MISS.

The load generator, the server and the database share this machine's cores, so the absolute
figures are low on a small machine; the verify/healthz ratio is measured in one run.

    uv run python bench/http_api.py            # full run (about 10 minutes)
    uv run python bench/http_api.py --quick    # a short smoke run
    uv run python bench/http_api.py --check    # ... and exit 1 if any target is missed
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import dataclasses
import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from _setup import (
    BACKENDS,
    MACHINE_NOTE,
    PASSWORD,
    Account,
    Check,
    PgServer,
    database,
    exit_on_sigterm,
    free_port,
    postgres_server,
    report,
    seed,
    source_version,
    stop_group,
    tree_cpu_seconds,
)
from sqlalchemy import update
from sqlalchemy.engine import make_url

from twostep.config import Settings
from twostep.otp import totp
from twostep.security import Keyring, PasswordHasher
from twostep.security.tokens import TokenSigner
from twostep.store import Database, tables

CONNECTIONS = 32
PROBE_CONNECTIONS = 4
STORM_USERS = 64
HIGH_RATE = str(10**9)

LUA_COMMON = r"""
local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", counter)
  table.insert(threads, thread)
  counter = counter + 1
end

function done(summary, latency, requests)
  local over = 0
  for _, t in ipairs(threads) do over = over + (t:get("over") or 0) end
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {"requests": %d, "duration_us": %d, "connect": %d, "read": %d, "write": %d, ' ..
    '"status": %d, "timeout": %d, "p50_us": %d, "p99_us": %d, "max_us": %d, "over": %d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max, over))
end
"""

LUA_HEALTHZ = LUA_COMMON

LUA_WALK = (
    LUA_COMMON
    + r"""
local items = {}
local i = 0
over = 0

-- args: file of request lines, thread count; this thread takes every n-th line
function init(args)
  local n = tonumber(args[2])
  local line_no = 0
  for line in io.lines(args[1]) do
    if line_no % n == id then table.insert(items, line) end
    line_no = line_no + 1
  end
end
"""
)

LUA_ELEVATE = (
    LUA_WALK
    + r"""
function request()
  i = i + 1
  if i > #items then over = over + 1 end
  local token, code = items[((i - 1) % #items) + 1]:match("^(%S+) (%S+)$")
  return wrk.format("POST", "/api/v1/auth/elevate",
    {["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json"},
    '{"code": "' .. code .. '"}')
end
"""
)

LUA_LOGIN = (
    LUA_WALK
    + r"""
function request()
  i = i + 1
  local email = items[((i - 1) % #items) + 1]
  return wrk.format("POST", "/api/v1/auth/login", {["Content-Type"] = "application/json"},
    '{"email": "' .. email .. '", "password": "PASSWORD"}')
end
"""
)


@dataclass(frozen=True)
class Result:
    """What one ``wrk`` run measured."""

    requests: int
    seconds: float
    errors: int
    error_kinds: str
    p50_ms: float
    p99_ms: float
    max_ms: float
    over: int
    server_cpu_ms: float | None = None
    """CPU time of the server processes per request (all workers and threads)."""
    db_cpu_ms: float | None = None
    """CPU time of the PostgreSQL server per request (when this script started it)."""
    db_sessions: int | None = None
    """New PostgreSQL connections during the run (a pool that churns opens many)."""

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def line(self, name: str) -> str:
        extra = f"  {self.errors} errors ({self.error_kinds})" if self.errors else ""
        if self.over:
            extra += f"  ({self.over} requests past the end of the pair list)"
        cpu = ""
        if self.server_cpu_ms is not None:
            cpu = f"  CPU/req: server {self.server_cpu_ms:5.2f} ms"
            if self.db_cpu_ms is not None:
                cpu += f", PostgreSQL {self.db_cpu_ms:5.2f} ms"
        if self.db_sessions:
            cpu += f"; {self.db_sessions} new PostgreSQL connections"
        return (
            f"  {name:<34} {self.rps:7,.0f} req/s  p50 {self.p50_ms:7.2f} ms  "
            f"p99 {self.p99_ms:7.2f} ms{cpu}{extra}"
        )


class Server:
    """``twostep serve`` in its own process group, stopped (with its workers) on exit."""

    def __init__(self, env: dict[str, str], workers: int, port: int, workdir: Path) -> None:
        self.env, self.workers, self.port, self.workdir = env, workers, port, workdir
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Server:
        command = [sys.executable, "-m", "twostep", "serve"]
        command += ["--host", "127.0.0.1", "--port", str(self.port), "--workers", str(self.workers)]
        with open(self.workdir / f"server-{self.workers}.log", "wb") as log:
            self.process = subprocess.Popen(
                command,
                cwd=self.workdir,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            self._wait_ready(deadline=time.monotonic() + 60)
        except BaseException:
            self.__exit__()
            raise
        return self

    def _wait_ready(self, deadline: float) -> None:
        assert self.process is not None
        ready = 0
        while ready < 3 * self.workers:  # a few answers, so every worker has probably started
            if self.process.poll() is not None:
                log = (self.workdir / f"server-{self.workers}.log").read_text(errors="replace")
                raise RuntimeError(f"the server exited during start:\n{log[-3000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError("the server did not answer /healthz within 60 s")
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
            try:
                conn.request("GET", "/healthz")
                ready += conn.getresponse().status == 200
            except (OSError, http.client.HTTPException):
                time.sleep(0.1)
            finally:
                conn.close()
        time.sleep(0.5)

    def __exit__(self, *_exc: object) -> None:
        if self.process is not None:
            stop_group(self.process)
            self.process = None

    def problems(self) -> list[str]:
        """Server errors in its log: 5xx answers and the exceptions behind them, counted."""
        log = self.workdir / f"server-{self.workers}.log"
        text = log.read_text(errors="replace") if log.exists() else ""
        statuses = collections.Counter(re.findall(r'"[A-Z]+ [^"]*" (5\d\d)\b', text))
        errors = collections.Counter(
            line.strip()[:160]
            for line in text.splitlines()
            if re.match(r"^[\w.]+(Error|Exception|Timeout)\b.*:", line.strip())
        )
        found = [f"{n} answers with status {code}" for code, n in statuses.most_common()]
        return found + [f"{n} x {line}" for line, n in errors.most_common(3)]


def wrk(
    url: str,
    script: Path,
    *,
    seconds: float,
    connections: int,
    args: Sequence[str] = (),
    background: bool = False,
) -> subprocess.Popen[str]:
    """Start ``wrk`` (one thread: the cores are better spent on the server)."""
    command = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s"]
    command += ["--timeout", "10s", "-s", str(script), url]
    if args:
        command += ["--", *args]
    return subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )


def finish(process: subprocess.Popen[str], seconds: float) -> Result:
    """Wait (bounded) for ``wrk`` and parse the JSON line its ``done()`` printed."""
    try:
        output, _ = process.communicate(timeout=seconds + 30)
    except subprocess.TimeoutExpired:
        stop_group(process)
        raise RuntimeError("wrk did not finish in time") from None
    except BaseException:  # interrupted: leave no load generator behind
        stop_group(process)
        raise
    for line in output.splitlines():
        if line.startswith("BENCHJSON "):
            data = json.loads(line.removeprefix("BENCHJSON "))
            kinds = {k: data[k] for k in ("connect", "read", "write", "status", "timeout")}
            return Result(
                requests=data["requests"],
                seconds=data["duration_us"] / 1e6,
                errors=sum(kinds.values()),
                error_kinds=", ".join(f"{k} {n}" for k, n in kinds.items() if n),
                p50_ms=data["p50_us"] / 1e3,
                p99_ms=data["p99_us"] / 1e3,
                max_ms=data["max_us"] / 1e3,
                over=data["over"],
            )
    raise RuntimeError(f"wrk printed no result:\n{output[-2000:]}")


def run(url: str, script: Path, seconds: float, connections: int, *args: str) -> Result:
    return finish(wrk(url, script, seconds=seconds, connections=connections, args=args), seconds)


@dataclass(frozen=True)
class Meter:
    """What to watch during a run: the server's processes, and PostgreSQL's when we run it."""

    server_pid: int | None
    db_pid: int | None = None
    db_url: str | None = None
    """A PostgreSQL database whose new sessions (connections) to count."""

    def sessions(self, conn: psycopg.Connection[Any] | None) -> int:
        if conn is None:
            return 0
        conn.execute("SELECT pg_stat_clear_snapshot()")
        row = conn.execute(
            "SELECT sessions FROM pg_stat_database WHERE datname = current_database()"
        ).fetchone()
        return int(row[0]) if row else 0

    def run(self, measure: Callable[[], Result]) -> Result:
        """``measure()``, with the CPU the server and the database spent per request."""
        with contextlib.ExitStack() as stack:
            conn = None
            if self.db_url is not None:
                libpq = make_url(self.db_url).set(drivername="postgresql")
                conn = stack.enter_context(
                    psycopg.connect(libpq.render_as_string(False), autocommit=True)
                )
            sessions = self.sessions(conn)
            server, db = tree_cpu_seconds(self.server_pid), tree_cpu_seconds(self.db_pid)
            result = measure()
            server = tree_cpu_seconds(self.server_pid) - server
            db = tree_cpu_seconds(self.db_pid) - db
            if conn is not None:
                time.sleep(1.0)  # backends report their statistics within a second
            sessions = self.sessions(conn) - sessions
        n = max(1, result.requests)
        return dataclasses.replace(
            result,
            server_cpu_ms=server * 1e3 / n,
            db_cpu_ms=db * 1e3 / n if self.db_pid else None,
            db_sessions=sessions if conn is not None else None,
        )


# --- profiling (--profile) -------------------------------------------------------------------

PROFILE_BUCKETS = (  # first match from the innermost frame outwards names a sample's bucket
    ("argon2 (password hash)", ("argon2/", "passwords.py")),
    ("JWT sign/verify (PyJWT, Ed25519)", ("jwt/", "security/tokens/")),
    ("AES-GCM open, TOTP verify", ("twostep/otp/", "keyring.py")),
    ("database call (driver, SQLite lock, PG wait)", ("do_execute", "psycopg/", "_pool/")),
    ("SQLAlchemy (compile, rows, pool)", ("sqlalchemy/",)),
    ("rate limiter (limits)", ("limits/",)),
    ("metrics (prometheus_client)", ("prometheus_client/",)),
    ("logging (access log)", ("logging/",)),
    ("pydantic (validation, serialisation)", ("pydantic", "fastapi/encoders", "_compat")),
    ("json", ("json/",)),
    ("twostep services and store (own code)", ("twostep/services/", "twostep/store/")),
    ("fastapi/starlette (routing, deps, middleware)", ("fastapi/", "starlette/", "twostep/web/")),
    ("uvicorn/h11/httptools (HTTP, event loop)", ("uvicorn/", "h11", "httptools", "asyncio/")),
    ("anyio (threadpool hand-off)", ("anyio/", "concurrent/", "threading.py", "queue.py")),
)


def py_spy() -> list[str]:
    found = shutil.which("py-spy")
    return [found] if found else ["uv", "tool", "run", "--from", "py-spy", "py-spy"]


def start_profile(pid: int, seconds: float, out: Path, *, gil: bool) -> subprocess.Popen[str]:
    """Sample the server and its worker processes: the GIL holder, or every busy thread."""
    command = [*py_spy(), "record", "--pid", str(pid), "--subprocesses", "--nonblocking"]
    command += ["--gil"] if gil else []
    command += ["--rate", "200", "--duration", str(max(1, int(seconds))), "--format", "raw"]
    command += ["--output", str(out)]
    return subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip


def summarize_profile(path: Path, top: int = 12) -> str:
    """Buckets and the busiest innermost frames of py-spy's collapsed stacks."""
    buckets: dict[str, int] = {}
    leaves: dict[str, int] = {}
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        total += count
        leaf = frames[-1]
        leaves[leaf] = leaves.get(leaf, 0) + count
        bucket = "other"
        for frame in reversed(frames):
            bucket = next((b for b, keys in PROFILE_BUCKETS if any(k in frame for k in keys)), "")
            if bucket:
                break
        bucket = bucket or "other"
        buckets[bucket] = buckets.get(bucket, 0) + count
    if not total:
        return "    (no samples)"
    lines = [f"    {total} samples; by innermost recognised frame:"]
    for name, count in sorted(buckets.items(), key=lambda kv: -kv[1]):
        lines.append(f"    {100 * count / total:5.1f}%  {name}")
    lines.append("    busiest innermost frames:")
    for name, count in sorted(leaves.items(), key=lambda kv: -kv[1])[:top]:
        lines.append(f"    {100 * count / total:5.1f}%  {name[:110]}")
    return "\n".join(lines)


class Profiler:
    """py-spy on the server during a block, when ``directory`` is given; summaries kept."""

    def __init__(self, directory: Path | None, pid: int | None, tag: str) -> None:
        self.directory, self.pid, self.tag = directory, pid, tag
        self.summaries: list[str] = []

    @contextlib.contextmanager
    def during(self, name: str, seconds: float, *, gil: bool = True) -> Iterator[None]:
        if self.directory is None or self.pid is None:
            yield
            return
        out = self.directory / f"{self.tag}-{name}.txt"
        spy = start_profile(self.pid, seconds, out, gil=gil)
        try:
            yield
        except BaseException:
            stop_group(spy)
            raise
        try:
            _, err = spy.communicate(timeout=seconds + 30)
        except subprocess.TimeoutExpired:
            stop_group(spy)
            err = "py-spy did not finish"
        if out.exists():
            summary = summarize_profile(out)
            self.summaries.append(f"  profile of {name} ({out.name}):\n{summary}")
        else:
            self.summaries.append(f"  profile of {name}: py-spy failed: {err.strip()[-300:]}")


class Pairs:
    """Access tokens and codes of the seeded accounts, one request line each."""

    def __init__(
        self, accounts: list[Account], keyring: Keyring, settings: Settings, db_url: str
    ) -> None:
        signer = TokenSigner.ed25519(
            keyring,
            issuer=settings.token_issuer,
            audience=settings.token_audience,
            ttl_seconds=3600,
        )
        now = datetime.now(UTC)
        self.accounts = accounts
        self.tokens = [
            signer.issue(
                subject=a.user_id, session_id=a.session_id, amr=["pwd"], auth_time=now, now=now
            ).token
            for a in accounts
        ]
        self.last_step = 0
        self.db_url = db_url

    def write(self, path: Path) -> None:
        """Codes for the step after the current one: valid from now for 60 to 90 s.

        A device accepts each step once, so when the previous run's step is not over yet,
        wait for the next step (at most 30 s) instead of replaying it. Every session is
        marked seen just now: a user stepping up is in the middle of using the service, so
        no request pays the last-seen write a session gets at most once per five minutes.
        """
        db = Database.from_url(self.db_url)
        try:
            with db.transaction() as tx:
                tx.execute(update(tables.sessions).values(last_seen_at=datetime.now(UTC)))
        finally:
            db.dispose()
        while int(time.time() // 30) < self.last_step:
            time.sleep(0.2)
        step = int(time.time() // 30) + 1
        lines = [
            f"{token} {totp(a.key, step * 30)}\n"
            for token, a in zip(self.tokens, self.accounts, strict=True)
        ]
        path.write_text("".join(lines))
        self.last_step = step


@dataclass
class ConfigResult:
    backend: str
    workers: int
    healthz: Result
    elevate: Result
    storm_probe: Result
    storm_logins: Result


def bench_config(
    backend: str,
    workers: int,
    env: dict[str, str],
    workdir: Path,
    pairs: Pairs,
    scripts: dict[str, Path],
    seconds: float,
    connections: int,
    db: Meter,
    profile_dir: Path | None,
) -> ConfigResult:
    port = free_port()
    with Server({**env, "TWOSTEP_PORT": str(port)}, workers, port, workdir) as server:
        base = server.base
        pid = server.process.pid if server.process else None
        meter = dataclasses.replace(db, server_pid=pid)
        spy = Profiler(profile_dir, pid, f"{backend}-{workers}w")
        run(f"{base}/healthz", scripts["healthz"], 2, connections)  # warm up
        with spy.during("healthz", seconds - 2):
            healthz = meter.run(
                lambda: run(f"{base}/healthz", scripts["healthz"], seconds, connections),
            )
        pairs.write(workdir / "pairs.txt")
        with spy.during("elevate", seconds - 2):
            pairs_file = str(workdir / "pairs.txt")
            elevate = meter.run(
                lambda: run(f"{base}/", scripts["elevate"], seconds, connections, pairs_file, "1"),
            )
        with spy.during("storm", seconds - 2, gil=False):
            logins = wrk(
                f"{base}/",
                scripts["login"],
                seconds=seconds + 2,
                connections=CONNECTIONS,
                args=(str(workdir / "logins.txt"), "1"),
            )
            try:
                time.sleep(1.5)  # let the storm build up
                probe = run(f"{base}/healthz", scripts["healthz"], seconds - 1, PROBE_CONNECTIONS)
            except BaseException:
                stop_group(logins)
                raise
            storm = finish(logins, seconds + 2)
        problems = server.problems()
    result = ConfigResult(backend, workers, healthz, elevate, probe, storm)
    print(f"\n{backend}, {workers} worker{'s' if workers > 1 else ''}:")
    print(healthz.line(f"GET /healthz, {connections} conn"))
    print(elevate.line(f"POST /auth/elevate, {connections} conn"))
    print(f"  {'verify / healthz throughput':<34} {elevate.rps / healthz.rps:7.2f}")
    if healthz.server_cpu_ms and elevate.server_cpu_ms:
        cost = elevate.server_cpu_ms + (elevate.db_cpu_ms or 0)
        print(f"  {'healthz / verify, CPU per request':<34} {healthz.server_cpu_ms / cost:7.2f}")
    print(probe.line(f"GET /healthz, {PROBE_CONNECTIONS} conn, in storm"))
    print(storm.line(f"POST /auth/login storm, {CONNECTIONS} conn"))
    for problem in problems:
        print(f"  server log: {problem}")
    for summary in spy.summaries:
        print(summary)
    sys.stdout.flush()
    return result


@contextlib.contextmanager
def backend_setup(
    backend: str, postgres: PgServer | None, workdir: Path, pool: int, keyring_path: Path
) -> Iterator[tuple[dict[str, str], Pairs]]:
    """A seeded database and the server environment for it."""
    with database(backend, postgres) as url:
        data_dir = workdir / f"data-{backend}"
        data_dir.mkdir()
        public_url = "http://127.0.0.1:8000"
        settings = Settings(public_url=public_url, database_url=url, data_dir=data_dir)
        keyring = Keyring.load(str(keyring_path))
        db = Database.from_url(url)
        try:
            started = time.perf_counter()
            hashed = PasswordHasher().hash(PASSWORD)
            accounts = seed(db, keyring, count=pool, at=datetime.now(UTC), password_hash=hashed)
            print(f"\n{backend}: seeded {pool:,} accounts in {time.perf_counter() - started:.1f} s")
        finally:
            db.dispose()
        (workdir / "logins.txt").write_text("".join(f"{a.email}\n" for a in accounts[:STORM_USERS]))
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.environ.get("HOME", str(workdir)),
            "TWOSTEP_ENV": "development",
            "TWOSTEP_DATA_DIR": str(data_dir),
            "TWOSTEP_DATABASE_URL": url,
            "TWOSTEP_KEYRING": str(keyring_path),
            "TWOSTEP_PUBLIC_URL": public_url,
            "TWOSTEP_HOST": "127.0.0.1",
            "TWOSTEP_LOGIN_RATE_PER_MINUTE": HIGH_RATE,
            "TWOSTEP_ACCOUNT_RATE_PER_MINUTE": HIGH_RATE,
        }
        yield env, Pairs(accounts, keyring, settings, url)


def checks(results: list[ConfigResult]) -> list[Check]:
    found = {(r.backend, r.workers): r for r in results}
    out: list[Check] = []
    if (one := found.get(("sqlite", 1))) is not None:
        ratio = one.elevate.rps / one.healthz.rps
        out.append(Check("verify / healthz, 1 worker, SQLite", ratio * 100, ">=", 35, "%"))
    if (pg := found.get(("postgresql", 2))) is not None:
        out.append(Check("verify req/s, 2 workers, PostgreSQL", pg.elevate.rps, ">=", 2000))
        out.append(Check("verify p99, 2 workers, PostgreSQL", pg.elevate.p99_ms, "<=", 50, " ms"))
    for r in results:
        name = f"healthz p99 in login storm, {r.backend}, {r.workers}w"
        out.append(Check(name, r.storm_probe.p99_ms, "<=", 50, " ms"))
    for r in results:  # a run with failed or replayed requests measured something else
        bad = r.healthz.errors + r.elevate.errors + r.elevate.over + r.storm_probe.errors
        bad += r.storm_logins.errors
        out.append(Check(f"(validity) failed requests, {r.backend}, {r.workers}w", bad, "<=", 0))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument(
        "--backend", choices=[*BACKENDS, "both"], default="both", help="which database(s)"
    )
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="worker counts")
    parser.add_argument(
        "--connections",
        type=int,
        default=CONNECTIONS,
        help=f"connections of the healthz and verify runs (targets: {CONNECTIONS})",
    )
    parser.add_argument(
        "--pool", type=int, help="seeded accounts, one per verify request (default 20,000)"
    )
    parser.add_argument(
        "--profile", type=Path, metavar="DIR", help="sample the server with py-spy into DIR"
    )
    args = parser.parse_args()
    exit_on_sigterm()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk not found: apt-get install -y wrk")
    seconds = 4.0 if args.quick else 20.0
    pool = args.pool or (4_000 if args.quick else 20_000)
    backends = BACKENDS if args.backend == "both" else (args.backend,)

    print(MACHINE_NOTE)
    print(f"twostep at {source_version()}")
    print(f"load before: {Path('/proc/loadavg').read_text().split()[:3]} (1, 5, 15 min)")
    print(f"wrk: 1 thread; runs of {seconds:.0f} s; {args.connections} connections")
    results: list[ConfigResult] = []
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="twostep-http-")))
        scripts = {}
        for name, text in {
            "healthz": LUA_HEALTHZ,
            "elevate": LUA_ELEVATE,
            "login": LUA_LOGIN.replace("PASSWORD", PASSWORD),
        }.items():
            scripts[name] = workdir / f"{name}.lua"
            scripts[name].write_text(text)
        keyring_path = workdir / "keyring.json"
        Keyring.generate(signing=True).save(keyring_path)
        postgres = stack.enter_context(postgres_server()) if "postgresql" in backends else None
        for backend in backends:
            with backend_setup(backend, postgres, workdir, pool, keyring_path) as (env, pairs):
                meter = Meter(None)
                if backend == "postgresql" and postgres is not None:
                    meter = Meter(None, postgres.pid, env["TWOSTEP_DATABASE_URL"])
                for workers in args.workers:
                    results.append(
                        bench_config(
                            backend,
                            workers,
                            env,
                            workdir,
                            pairs,
                            scripts,
                            seconds,
                            args.connections,
                            meter,
                            args.profile,
                        )
                    )

    print(f"\nload after: {Path('/proc/loadavg').read_text().split()[:3]} (1, 5, 15 min)\n")
    missed = report(checks(results))
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    sys.exit(main())
