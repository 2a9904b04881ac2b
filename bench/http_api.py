"""HTTP benchmark: the real server under ``wrk``, against a bare ping app served the same way.

For each database (a temporary SQLite file; a throwaway PostgreSQL cluster, or the server
named by ``TWOSTEP_BENCH_DATABASE_URL``) and each worker count, in one run:

* ``GET /ping`` of a bare Starlette app (``ping_app.py``) served exactly as twostep is
  (:func:`server_argv`: ``twostep serve``'s uvicorn options, same worker count): the
  yardstick every throughput target is a fraction of;
* ``GET /healthz`` of twostep at 32 connections;
* ``POST /api/v1/auth/elevate`` with a valid code at 32 connections, every request a
  different user, session and device (a Lua script walks a precomputed list of
  ``(access token, code)`` pairs, one per request);
* ``POST /api/v1/auth/login/verify`` at 32 connections, every request a different user's
  login challenge (opened just before, as the password step opens one) with a fresh code;
* ``GET /healthz`` at 4 connections while a second ``wrk`` keeps 32 password logins
  (``POST /api/v1/auth/login``, argon2id) in flight: the login storm.

Then, on SQLite with 1 worker, the growth runs: ``elevate`` on a database of 2,000 accounts
and on one of 200,000 (``--growth``), 2,000 requests each, spread over the accounts.

``--tree DIR`` names the source tree whose ``src/`` the twostep server runs from (default:
this repository); ``--tree-before DIR`` measures a second tree (a worktree of an older
commit) in the same invocation, side by side; the ping app is measured once per database and
worker count and serves as the yardstick of both. Each tree's database is migrated and seeded
by that tree's own code (``_prepare.py``).

Accounts are seeded straight into the database (one precomputed password hash); access
tokens are minted with the server's own keyring file (``TWOSTEP_KEYRING``); codes are
computed for the step after the current one, so they stay valid for the whole run (window
±1). A request list that runs out ends its run early (its duration is measured up to then).
The per-minute rate limits are raised so they do not cap the benchmark. Every target is
printed with PASS/MISS; ``--check`` exits 1 when a target of ``--tree`` is missed.

The load generator, the server and the database share this machine's cores, so the absolute
figures are low on a small machine; the ratios are measured in one run.

    uv run python bench/http_api.py            # full run (about 10 minutes per tree)
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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from _setup import (
    BACKENDS,
    MACHINE_NOTE,
    PASSWORD,
    REPOSITORY,
    PgServer,
    database,
    exit_on_sigterm,
    free_port,
    postgres_server,
    source_version,
    stop_group,
    tree_cpu_seconds,
)
from sqlalchemy.engine import make_url

from twostep.otp import totp

BENCH = Path(__file__).resolve().parent
CONNECTIONS = 32
PROBE_CONNECTIONS = 4
STORM_USERS = 64
HIGH_RATE = str(10**9)
GROWTH_SMALL = 2_000
GROWTH_LARGE = 200_000
PING_APP = "ping_app:create_app"

# the targets
HEALTHZ_VS_PING = 0.60  # R1: GET /healthz, 1 worker
ELEVATE_VS_PING = 0.20  # R2: elevate, 1 worker, SQLite
ELEVATE_VS_PING_PG2 = 0.15  # R3: elevate, 2 workers, PostgreSQL
ELEVATE_SCALING_PG = 1.6  # R3: elevate with 2 workers / with 1 worker, PostgreSQL
VERIFY_VS_ELEVATE = 0.90  # login/verify within 10% of elevate, same backend and workers
STORM_P99_MS = 50.0  # /healthz p99 while 32 logins are in flight
GROWTH_P50 = 1.3  # elevate p50, 200,000 accounts / 2,000 accounts (SQLite, 1 worker)


def server_argv(app: str | None, workers: int, port: int) -> list[str]:
    """The command that serves ``app`` (an import string; ``None``: twostep) on 127.0.0.1.

    The one place that says how a server under test starts: ``_serve.py`` calls uvicorn with
    the options ``twostep serve`` uses (``twostep.cli.server_options``, from the tree on
    ``PYTHONPATH``), swapping in ``app``, so the ping app and twostep get the same server
    stack, flags and worker count.
    """
    command = [sys.executable, str(BENCH / "_serve.py"), "--host", "127.0.0.1"]
    command += ["--port", str(port), "--workers", str(workers)]
    return command + (["--app", app] if app is not None else [])


# --- wrk -----------------------------------------------------------------------------------

LUA_COMMON = r"""
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clk_id, bench_timespec *tp);
]]
function now_us()
  local ts = ffi.new("bench_timespec")
  ffi.C.clock_gettime(1, ts)  -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1000000 + math.floor(tonumber(ts.tv_nsec) / 1000)
end

local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", counter)
  table.insert(threads, thread)
  counter = counter + 1
end

-- A thread whose list ran out stopped early: the run lasted until the last one stopped.
function done(summary, latency, requests)
  local over, first, last, all_stopped = 0, nil, nil, #threads > 0
  for _, t in ipairs(threads) do
    over = over + (t:get("over") or 0)
    local s, e = t:get("started"), t:get("stopped")
    if s == nil or e == nil then
      all_stopped = false
    else
      if first == nil or s < first then first = s end
      if last == nil or e > last then last = e end
    end
  end
  local duration = summary.duration
  if all_stopped then duration = last - first end
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {"requests": %d, "duration_us": %d, "connect": %d, "read": %d, "write": %d, ' ..
    '"status": %d, "timeout": %d, "p50_us": %d, "p99_us": %d, "max_us": %d, "over": %d, ' ..
    '"exhausted": %d}\n',
    summary.requests, duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max, over, all_stopped and 1 or 0))
end
"""

LUA_GET = LUA_COMMON

LUA_WALK = (
    LUA_COMMON
    + r"""
local items = {}
local i = 0
local cycle = false
over = 0

-- args: file of request lines, thread count, "cycle" to start the list again at its end;
-- this thread takes every n-th line
function init(args)
  started = now_us()
  local n = tonumber(args[2])
  cycle = args[3] == "cycle"
  local line_no = 0
  for line in io.lines(args[1]) do
    if line_no % n == id then table.insert(items, line) end
    line_no = line_no + 1
  end
end

-- The next line. A connection that finds every line handed out waits instead of sending
-- (delay), and the thread stops once the last line is answered: the run ends when its list
-- does, with every request answered and counted.
local checked = false
function next_item()
  if id == 0 and not checked then
    -- wrk calls request() of thread 0 once before any connection, to check what it returns,
    -- and sends nothing of it: that call takes no line
    checked = true
    return nil
  end
  i = i + 1
  if i <= #items then return items[i] end
  if cycle then return items[((i - 1) % #items) + 1] end
  over = over + 1  -- not expected: delay() holds such a request back
  return nil
end

function delay()
  if not cycle and i >= #items then return 600000 end
  return 0
end

local answered = 0
function response(status, headers, body)
  answered = answered + 1
  if not cycle and answered >= #items and stopped == nil then
    stopped = now_us()
    wrk.thread:stop()
  end
end

local idle = wrk.format("GET", "/healthz")
"""
)

LUA_ELEVATE = (
    LUA_WALK
    + r"""
function request()
  local item = next_item()
  if item == nil then return idle end
  local token, code = item:match("^(%S+) (%S+)$")
  return wrk.format("POST", "/api/v1/auth/elevate",
    {["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json"},
    '{"code": "' .. code .. '"}')
end
"""
)

LUA_VERIFY = (
    LUA_WALK
    + r"""
function request()
  local item = next_item()
  if item == nil then return idle end
  local challenge, code = item:match("^(%S+) (%S+)$")
  return wrk.format("POST", "/api/v1/auth/login/verify", {["Content-Type"] = "application/json"},
    '{"challenge_id": "' .. challenge .. '", "code": "' .. code .. '"}')
end
"""
)

LUA_LOGIN = (
    LUA_WALK
    + r"""
function request()
  local email = next_item()
  if email == nil then return idle end
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
    """Socket errors and answers other than 2xx/3xx, as ``wrk`` counts them."""
    error_kinds: str
    p50_ms: float
    p99_ms: float
    max_ms: float
    exhausted: bool = False
    """The request list ran out: the run ended early."""
    server_cpu_ms: float | None = None
    """CPU time of the server processes per request (all workers and threads)."""
    db_cpu_ms: float | None = None
    """CPU time of the PostgreSQL server per request (when this script started it)."""
    db_sessions: int | None = None
    """New PostgreSQL connections during the run (a pool that churns opens many)."""
    answers_5xx: int = 0
    """Answers with a 5xx status in the server's log during the run."""
    problems: tuple[str, ...] = ()
    """Exceptions in the server's log during the run, counted."""

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def failed(self) -> bool:
        return bool(self.errors or self.answers_5xx)

    def cpu(self) -> str:
        if self.server_cpu_ms is None:
            return ""
        if self.db_cpu_ms is None:
            return f"{self.server_cpu_ms:.2f}"
        return f"{self.server_cpu_ms:.2f}+{self.db_cpu_ms:.2f}"

    def line(self, name: str) -> str:
        extra = f"  {self.errors} failed ({self.error_kinds})" if self.errors else ""
        extra += f"  {self.answers_5xx} answers 5xx" if self.answers_5xx else ""
        extra += f"  list ran out after {self.seconds:.1f} s" if self.exhausted else ""
        cpu = f"  CPU/req {self.cpu()} ms" if self.server_cpu_ms is not None else ""
        if self.db_sessions:
            cpu += f"; {self.db_sessions} new PostgreSQL connections"
        return (
            f"  {name:<44} {self.rps:7,.0f} req/s  p50 {self.p50_ms:7.2f} ms  "
            f"p99 {self.p99_ms:7.2f} ms{cpu}{extra}"
        )


def wrk(
    url: str,
    script: Path,
    *,
    seconds: float,
    connections: int,
    args: Sequence[str] = (),
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
                exhausted=bool(data["exhausted"]),
            )
    raise RuntimeError(f"wrk printed no result:\n{output[-2000:]}")


def run(url: str, script: Path, seconds: float, connections: int, *args: str) -> Result:
    return finish(wrk(url, script, seconds=seconds, connections=connections, args=args), seconds)


# --- servers -------------------------------------------------------------------------------


class Server:
    """A server under test (:func:`server_argv`) in its own process group, stopped (with its
    workers) on exit; its output goes to ``log``."""

    def __init__(
        self, command: list[str], env: dict[str, str], log: Path, ready_path: str, workers: int
    ) -> None:
        self.command, self.env, self.log = command, env, log
        self.ready_path, self.workers = ready_path, workers
        self.port = int(command[command.index("--port") + 1])
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def __enter__(self) -> Server:
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                self.command,
                cwd=self.log.parent,
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
                log = self.log.read_text(errors="replace")
                raise RuntimeError(f"the server exited during start:\n{log[-3000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server did not answer {self.ready_path} within 60 s")
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
            try:
                conn.request("GET", self.ready_path)
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

    def mark(self) -> int:
        """Where the log ends now (see :meth:`problems`)."""
        return self.log.stat().st_size if self.log.exists() else 0

    def problems(self, since: int) -> tuple[int, tuple[str, ...]]:
        """Answers with a 5xx status, and exceptions (counted), in the log after ``since``."""
        with open(self.log, "rb") as log:
            log.seek(since)
            text = log.read().decode(errors="replace")
        statuses = re.findall(r'"[A-Z]+ [^"]*" (5\d\d)\b', text)
        errors = collections.Counter(
            line.strip()[:160]
            for line in text.splitlines()
            if re.match(r"^[\w.]+(Error|Exception|Timeout)\b.*:", line.strip())
        )
        return len(statuses), tuple(f"{n} x {line}" for line, n in errors.most_common(3))


@dataclass(frozen=True)
class Meter:
    """What to watch during a run: the server's processes, and PostgreSQL's when we run it."""

    server: Server
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
        """``measure()``, with the CPU the server and the database spent per request, and
        the server's 5xx answers and exceptions during it."""
        with contextlib.ExitStack() as stack:
            conn = None
            if self.db_url is not None:
                libpq = make_url(self.db_url).set(drivername="postgresql")
                conn = stack.enter_context(
                    psycopg.connect(libpq.render_as_string(False), autocommit=True)
                )
            mark = self.server.mark()
            sessions = self.sessions(conn)
            pid = self.server.pid
            server, db = tree_cpu_seconds(pid), tree_cpu_seconds(self.db_pid)
            result = measure()
            server = tree_cpu_seconds(pid) - server
            db = tree_cpu_seconds(self.db_pid) - db
            if conn is not None:
                time.sleep(1.0)  # backends report their statistics within a second
            sessions = self.sessions(conn) - sessions
        n = max(1, result.requests)
        time.sleep(0.2)  # the log lines of the last answers
        answers_5xx, problems = self.server.problems(mark)
        return dataclasses.replace(
            result,
            server_cpu_ms=server * 1e3 / n,
            db_cpu_ms=db * 1e3 / n if self.db_pid else None,
            db_sessions=sessions if conn is not None else None,
            answers_5xx=answers_5xx,
            problems=problems,
        )


# --- profiling (--profile) -------------------------------------------------------------------

PROFILE_BUCKETS = (  # first match from the innermost frame outwards names a sample's bucket
    ("argon2 (password hash)", ("argon2/", "passwords.py")),
    ("access tokens (compact JWS, Ed25519)", ("jwt/", "security/tokens/")),
    ("AES-GCM open, TOTP verify", ("twostep/otp/", "keyring.py")),
    ("database call (driver, SQLite lock, PG wait)", ("do_execute", "psycopg/", "_pool/")),
    ("SQLAlchemy (compile, rows, pool)", ("sqlalchemy/",)),
    ("rate limiter", ("limits/", "web/ratelimit.py")),
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


# --- source trees and their data -----------------------------------------------------------


@dataclass(frozen=True)
class Tree:
    """A source tree whose ``src/`` a twostep server runs from (same interpreter and venv)."""

    label: str
    root: Path

    @property
    def version(self) -> str:
        return source_version(self.root)

    def env(self, workdir: Path) -> dict[str, str]:
        """The environment of a process running this tree's code."""
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.environ.get("HOME", str(workdir)),
            "PYTHONPATH": str(self.root / "src"),
        }


def prepare(env: dict[str, str], workdir: Path, *args: str) -> str:
    """Run ``_prepare.py`` with a tree's environment; its output."""
    command = [sys.executable, str(BENCH / "_prepare.py"), *args]
    process = subprocess.Popen(
        command, cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        out, err = process.communicate(timeout=1800)
    except BaseException:
        stop_group(process)
        raise
    if process.returncode != 0:
        raise RuntimeError(f"_prepare.py {args[0]} failed:\n{err[-3000:]}")
    return out


@dataclass(frozen=True)
class Account:
    user_id: str
    email: str
    session_id: str
    key: bytes
    token: str


class AccountSet:
    """Seeded accounts that each take one request per run, with a fresh code each time."""

    def __init__(self, path: Path) -> None:
        self.accounts = []
        for line in path.read_text().splitlines():
            user_id, email, session_id, key, token = line.split("\t")
            self.accounts.append(Account(user_id, email, session_id, bytes.fromhex(key), token))
        self.last_step = 0

    def codes(self) -> list[str]:
        """Codes for the step after the current one: valid from now for 60 to 90 s.

        A device accepts each step once, so when this set's previous run's step has not
        begun yet, wait for it (at most 30 s) and take the one after.
        """
        while int(time.time() // 30) < self.last_step:
            time.sleep(0.2)
        step = int(time.time() // 30) + 1
        self.last_step = step
        return [totp(a.key, step * 30) for a in self.accounts]


@dataclass
class Setup:
    """One tree's seeded database of one backend, and the environment of its server."""

    tree: Tree
    backend: str
    url: str
    env: dict[str, str]
    workdir: Path
    sets: dict[str, AccountSet]
    seeded: dict[str, Any]

    def prepare(self, *args: str) -> str:
        return prepare(self.env, self.workdir, *args)

    def elevate_lines(self, path: Path, account_set: str = "elevate") -> Path:
        """``token code`` per account; every session marked seen first, so no request pays
        the last-seen write a session gets at most once per five minutes (a user stepping
        up is in the middle of using the service)."""
        self.prepare("seen", self.url)
        accounts = self.sets[account_set]
        codes = accounts.codes()
        lines = (f"{a.token} {code}\n" for a, code in zip(accounts.accounts, codes, strict=True))
        path.write_text("".join(lines))
        return path

    def verify_lines(self, path: Path) -> Path:
        """``challenge code`` per account of the login set, a challenge opened just now."""
        accounts = self.sets["login"]
        users = self.workdir / "login-users.txt"
        users.write_text("".join(f"{a.user_id}\n" for a in accounts.accounts))
        ids_file = self.workdir / "challenges.txt"
        self.prepare("challenges", self.url, "--users", str(users), "--out", str(ids_file))
        ids = ids_file.read_text().split()
        codes = accounts.codes()
        path.write_text("".join(f"{c} {code}\n" for c, code in zip(ids, codes, strict=True)))
        return path


def server_env(tree: Tree, url: str, workdir: Path) -> dict[str, str]:
    """The environment of ``tree``'s server on the database at ``url`` (and of the
    ``_prepare.py`` runs for it: the same settings, so the same token issuer and keyring)."""
    data_dir = workdir / "data"
    data_dir.mkdir(exist_ok=True)
    return {
        **tree.env(workdir),
        "TWOSTEP_ENV": "development",
        "TWOSTEP_DATA_DIR": str(data_dir),
        "TWOSTEP_DATABASE_URL": url,
        "TWOSTEP_KEYRING": str(workdir.parent / f"keyring-{tree.label}.json"),
        "TWOSTEP_PUBLIC_URL": "http://127.0.0.1:8000",
        "TWOSTEP_HOST": "127.0.0.1",
        "TWOSTEP_LOGIN_RATE_PER_MINUTE": HIGH_RATE,
        "TWOSTEP_ACCOUNT_RATE_PER_MINUTE": HIGH_RATE,
    }


@contextlib.contextmanager
def tree_setup(
    tree: Tree,
    backend: str,
    postgres: PgServer | None,
    workdir: Path,
    sets: Sequence[tuple[str, int, int]],
    tag: str,
) -> Iterator[Setup]:
    """A database of ``backend`` migrated and seeded by ``tree``'s code: for each
    ``(name, count, sample)`` of ``sets``, ``count`` accounts, ``sample`` of them kept."""
    with database(backend, postgres, upgrade=False) as url:
        here = workdir / f"{tree.label}-{tag}"
        here.mkdir()
        env = server_env(tree, url, here)
        specs = [f"{name}:{count}:{sample}" for name, count, sample in sets]
        keyring = env["TWOSTEP_KEYRING"]
        args = ["seed", url, "--keyring", keyring, "--out", str(here)]
        for spec in specs:
            args += ["--set", spec]
        seeded = json.loads(prepare(env, here, *args))
        loaded = {name: AccountSet(here / f"{name}.tsv") for name, _, _ in sets}
        described = ", ".join(
            f"{info['count']:,} {name} accounts in {info['seconds']:.1f} s"
            for name, info in seeded.items()
        )
        print(f"{tree.label}, {backend}: seeded {described}")
        sys.stdout.flush()
        yield Setup(tree, backend, url, env, here, loaded, seeded)


# --- runs ----------------------------------------------------------------------------------

RUN_NAMES = {
    "ping": "GET /ping, bare app",
    "healthz": "GET /healthz",
    "elevate": "POST /auth/elevate",
    "verify": "POST /auth/login/verify",
    "probe": f"GET /healthz in storm, {PROBE_CONNECTIONS} conn",
    "storm": f"POST /auth/login storm, {CONNECTIONS} conn",
}


@dataclass
class ConfigResult:
    """The runs of one backend and worker count: the ping app's, and each tree's."""

    backend: str
    workers: int
    load: str
    ping: Result
    trees: dict[str, dict[str, Result]] = field(default_factory=dict)
    profiles: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"{self.backend} {self.workers}w"


@dataclass
class GrowthResult:
    tree: str
    small: Result
    large: Result
    small_accounts: int
    large_accounts: int
    seed_seconds: float


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


class Bench:
    """What every run shares: the Lua scripts, durations, connections, profiling."""

    def __init__(
        self,
        workdir: Path,
        seconds: float,
        connections: int,
        profile_dir: Path | None,
        postgres: PgServer | None,
    ) -> None:
        self.workdir, self.seconds, self.connections = workdir, seconds, connections
        self.profile_dir, self.postgres = profile_dir, postgres
        self.scripts: dict[str, Path] = {}
        for name, text in {
            "get": LUA_GET,
            "elevate": LUA_ELEVATE,
            "verify": LUA_VERIFY,
            "login": LUA_LOGIN.replace("PASSWORD", PASSWORD),
        }.items():
            self.scripts[name] = workdir / f"{name}.lua"
            self.scripts[name].write_text(text)

    def meter(self, server: Server, setup: Setup | None) -> Meter:
        if setup is not None and setup.backend == "postgresql" and self.postgres is not None:
            return Meter(server, self.postgres.pid, setup.url)
        return Meter(server)

    def warm_up(self, server: Server, path: str) -> None:
        run(f"{server.base}{path}", self.scripts["get"], 2, self.connections)

    def get(self, meter: Meter, path: str) -> Result:
        base = meter.server.base
        return meter.run(
            lambda: run(f"{base}{path}", self.scripts["get"], self.seconds, self.connections)
        )

    def walk(self, meter: Meter, script: str, lines: Path) -> Result:
        base = meter.server.base
        return meter.run(
            lambda: run(
                f"{base}/", self.scripts[script], self.seconds, self.connections, str(lines), "1"
            )
        )

    def ping(self, tree: Tree, workers: int, tag: str) -> Result:
        """The bare app, served by ``tree``'s server options with ``workers`` processes."""
        log = self.workdir / f"ping-{tag}.log"
        command = server_argv(PING_APP, workers, free_port())
        with Server(command, tree.env(self.workdir), log, "/ping", workers) as server:
            self.warm_up(server, "/ping")
            return self.get(self.meter(server, None), "/ping")

    def twostep(self, setup: Setup, workers: int, tag: str) -> tuple[dict[str, Result], list[str]]:
        """The runs of one tree's server: healthz, elevate, login/verify, the login storm."""
        port = free_port()
        log = setup.workdir / f"server-{tag}.log"
        env = {**setup.env, "TWOSTEP_PORT": str(port)}
        results: dict[str, Result] = {}
        with Server(server_argv(None, workers, port), env, log, "/healthz", workers) as server:
            meter = self.meter(server, setup)
            spy = Profiler(self.profile_dir, server.pid, f"{setup.tree.label}-{tag}")
            self.warm_up(server, "/healthz")
            with spy.during("healthz", self.seconds - 2):
                results["healthz"] = self.get(meter, "/healthz")
            lines = setup.elevate_lines(setup.workdir / "elevate.txt")
            with spy.during("elevate", self.seconds - 2):
                results["elevate"] = self.walk(meter, "elevate", lines)
            lines = setup.verify_lines(setup.workdir / "verify.txt")
            with spy.during("verify", self.seconds - 2):
                results["verify"] = self.walk(meter, "verify", lines)
            with spy.during("storm", self.seconds - 2, gil=False):
                results["probe"], results["storm"] = self.storm(meter, setup)
        for key, result in results.items():
            print(result.line(f"{setup.tree.label}: {RUN_NAMES[key]}"))
            for problem in result.problems:
                print(f"    server log: {problem}")
        sys.stdout.flush()
        return results, spy.summaries

    def storm(self, meter: Meter, setup: Setup) -> tuple[Result, Result]:
        """``GET /healthz`` at a few connections while 32 password logins are in flight.

        The server's CPU, 5xx answers and exceptions of the window go to the logins (the
        CPU per login includes the probes' small share).
        """
        base = meter.server.base
        emails = setup.workdir / "logins.txt"
        chosen = setup.sets["elevate"].accounts[:STORM_USERS]
        emails.write_text("".join(f"{a.email}\n" for a in chosen))
        seconds = self.seconds
        logins: list[Result] = []

        def measure() -> Result:
            storm = wrk(
                f"{base}/", self.scripts["login"], seconds=seconds + 2, connections=CONNECTIONS,
                args=(str(emails), "1", "cycle"),
            )  # fmt: skip
            try:
                time.sleep(1.5)  # let the storm build up
                probe = run(f"{base}/healthz", self.scripts["get"], seconds - 1, PROBE_CONNECTIONS)
            except BaseException:
                stop_group(storm)
                raise
            logins.append(finish(storm, seconds + 2))
            return probe

        probe = meter.run(measure)
        cpu = (probe.server_cpu_ms or 0.0) * max(1, probe.requests)
        db_cpu = (probe.db_cpu_ms or 0.0) * max(1, probe.requests)
        n = max(1, logins[0].requests)
        storm = dataclasses.replace(
            logins[0],
            server_cpu_ms=cpu / n,
            db_cpu_ms=db_cpu / n if probe.db_cpu_ms is not None else None,
            db_sessions=probe.db_sessions,
            answers_5xx=probe.answers_5xx,
            problems=probe.problems,
        )
        probe = dataclasses.replace(
            probe, server_cpu_ms=None, db_cpu_ms=None, db_sessions=None, answers_5xx=0,
            problems=(),
        )  # fmt: skip
        return probe, storm

    def growth(self, setup: Setup, accounts: int, tag: str) -> Result:
        """``elevate`` on a database of ``accounts`` accounts (SQLite, 1 worker)."""
        port = free_port()
        log = setup.workdir / f"server-{tag}.log"
        env = {**setup.env, "TWOSTEP_PORT": str(port)}
        with Server(server_argv(None, 1, port), env, log, "/healthz", 1) as server:
            meter = self.meter(server, setup)
            self.warm_up(server, "/healthz")
            lines = setup.elevate_lines(setup.workdir / "elevate.txt", "growth")
            result = self.walk(meter, "elevate", lines)
        print(result.line(f"{setup.tree.label}: elevate, {accounts:,} accounts"))
        for problem in result.problems:
            print(f"    server log: {problem}")
        sys.stdout.flush()
        return result


# --- targets and the table -----------------------------------------------------------------


@dataclass(frozen=True)
class Figure:
    """A target's measured value for one tree, and how it was computed."""

    value: float
    text: str


@dataclass
class Target:
    key: str
    name: str
    op: str
    limit: float
    figures: dict[str, Figure] = field(default_factory=dict)
    missing: str = ""
    """Why it was not measured in this run (which options measure it)."""

    def ok(self, tree: str) -> bool | None:
        figure = self.figures.get(tree)
        if figure is None:
            return None
        return figure.value >= self.limit if self.op == ">=" else figure.value <= self.limit

    def verdict(self, tree: str) -> str:
        ok = self.ok(tree)
        return "----" if ok is None else "PASS" if ok else "MISS"


def ratio(a: Result, b: Result, unit: str = "req/s") -> Figure:
    value = a.rps / b.rps if b.rps else 0.0
    return Figure(value, f"{a.rps:,.0f} / {b.rps:,.0f} {unit} = {value:.2f}")


def targets(
    configs: list[ConfigResult], growth: list[GrowthResult], trees: list[Tree]
) -> list[Target]:
    found = {(c.backend, c.workers): c for c in configs}
    backends = list(dict.fromkeys(c.backend for c in configs)) or ["sqlite"]
    labels = [t.label for t in trees]
    out: list[Target] = []

    for backend in backends:
        t = Target("R1", f"GET /healthz >= {HEALTHZ_VS_PING:.2f} x ping, {backend} 1w", ">=",
                   HEALTHZ_VS_PING, missing="needs --workers 1")  # fmt: skip
        if (c := found.get((backend, 1))) is not None:
            t.figures = {label: ratio(c.trees[label]["healthz"], c.ping) for label in labels}
        out.append(t)

    t = Target("R2", f"elevate >= {ELEVATE_VS_PING:.2f} x ping, sqlite 1w", ">=",
               ELEVATE_VS_PING, missing="needs --backend sqlite --workers 1")  # fmt: skip
    if (c := found.get(("sqlite", 1))) is not None:
        t.figures = {label: ratio(c.trees[label]["elevate"], c.ping) for label in labels}
    out.append(t)

    t = Target("R3", f"elevate >= {ELEVATE_VS_PING_PG2:.2f} x ping, postgresql 2w", ">=",
               ELEVATE_VS_PING_PG2, missing="needs --backend postgresql --workers 2")  # fmt: skip
    if (c := found.get(("postgresql", 2))) is not None:
        t.figures = {label: ratio(c.trees[label]["elevate"], c.ping) for label in labels}
    out.append(t)

    t = Target("R3", f"elevate 2w >= {ELEVATE_SCALING_PG:.1f} x elevate 1w, postgresql", ">=",
               ELEVATE_SCALING_PG, missing="needs --backend postgresql --workers 1 2")  # fmt: skip
    one, two = found.get(("postgresql", 1)), found.get(("postgresql", 2))
    if one is not None and two is not None:
        t.figures = {
            label: ratio(two.trees[label]["elevate"], one.trees[label]["elevate"])
            for label in labels
        }
    out.append(t)

    for c in configs:
        t = Target("V", f"login/verify >= {VERIFY_VS_ELEVATE:.2f} x elevate, {c.name}", ">=",
                   VERIFY_VS_ELEVATE)  # fmt: skip
        t.figures = {
            label: ratio(c.trees[label]["verify"], c.trees[label]["elevate"]) for label in labels
        }
        out.append(t)

    for c in configs:
        t = Target("S", f"/healthz p99 <= {STORM_P99_MS:.0f} ms in login storm, {c.name}", "<=",
                   STORM_P99_MS)  # fmt: skip
        for label in labels:
            p99 = c.trees[label]["probe"].p99_ms
            t.figures[label] = Figure(p99, f"p99 {p99:,.1f} ms")
        out.append(t)

    t = Target("G", f"elevate p50 {GROWTH_LARGE // 1000}k / {GROWTH_SMALL // 1000}k accounts "
               f"<= {GROWTH_P50:.1f}, sqlite 1w", "<=", GROWTH_P50,
               missing="needs --backend sqlite and --growth")  # fmt: skip
    for g in growth:
        if g.large_accounts != GROWTH_LARGE:
            t.name = f"elevate p50 {g.large_accounts:,} / {g.small_accounts:,} accounts"
            t.name += f" <= {GROWTH_P50:.1f}, sqlite 1w"
        value = g.large.p50_ms / g.small.p50_ms if g.small.p50_ms else 0.0
        text = f"p50 {g.large.p50_ms:,.1f} / {g.small.p50_ms:,.1f} ms = {value:.2f}"
        t.figures[g.tree] = Figure(value, text)
    out.append(t)

    t = Target("Z", "no failed request, no 5xx answer, every run", "<=", 0)
    for label in labels:
        runs = [(f"{c.name} ping", c.ping) for c in configs]
        runs += [(f"{c.name} {key}", r) for c in configs for key, r in c.trees[label].items()]
        runs += [(f"growth {g.small_accounts:,}", g.small) for g in growth if g.tree == label]
        runs += [(f"growth {g.large_accounts:,}", g.large) for g in growth if g.tree == label]
        failed = sum(r.errors for _, r in runs)
        answers_5xx = sum(r.answers_5xx for _, r in runs)
        bad = [name for name, r in runs if r.failed]
        text = f"{failed} failed, {answers_5xx} 5xx in {len(runs)} runs"
        if bad:
            text += f" ({', '.join(bad[:3])}{', ...' if len(bad) > 3 else ''})"
        t.figures[label] = Figure(failed + answers_5xx, text)
    out.append(t)
    return out


def print_targets(found: list[Target], trees: list[Tree]) -> int:
    """One PASS/MISS line per target (the tree of ``--tree``; the earlier tree beside it,
    not checked); how many targets ``--tree`` missed."""
    current, earlier = trees[-1].label, [t.label for t in trees[:-1]]
    width = max(len(t.name) for t in found)
    texts = [t.figures[current].text for t in found if current in t.figures]
    text_width = max((len(text) for text in texts), default=20)
    missed = 0
    for t in found:
        if current not in t.figures:
            why = f"not measured: {t.missing}"
            print(f"{t.key:<3} {t.name:<{width}}  {why:<{text_width}}  ----")
            continue
        line = f"{t.key:<3} {t.name:<{width}}  {t.figures[current].text:>{text_width}}  "
        line += t.verdict(current)
        for label in earlier:
            if label in t.figures:
                line += f"   {label}: {t.figures[label].text}  {t.verdict(label)}"
        print(line)
        missed += t.ok(current) is False
    sys.stdout.flush()
    return missed


CELL = 48


def cells(result: Result | None, note: str = "") -> str:
    if result is None:
        return f"{note:^{CELL}}"
    rps = f"{result.rps:,.0f}" + ("*" if result.exhausted else " ")
    return (
        f"{rps:>9} {result.p50_ms:8.2f} {result.p99_ms:8.2f} {result.cpu():>11} "
        f"{result.errors:4d} {result.answers_5xx:4d}"
    )


def print_table(configs: list[ConfigResult], growth: list[GrowthResult], trees: list[Tree]) -> None:
    print(
        "\nreq/s; p50, p99: latency (ms); CPU: ms of server CPU per request (+ PostgreSQL's); "
        "err: failed requests\n(socket errors, answers other than 2xx/3xx); 5xx: 5xx answers "
        "in the server log; *: the request list ran out, the run ended early"
    )
    label_width = 34
    head = f"{'':<{label_width}}"
    columns = f"{'run':<{label_width}}"
    for tree in trees:
        head += " | " + f"{tree.label} ({tree.version})"[:CELL].center(CELL)
        columns += " | " + f"{'req/s':>9} {'p50':>8} {'p99':>8} {'CPU':>11} {'err':>4} {'5xx':>4}"
    print(head)
    print(columns)
    for c in configs:
        s = "s" if c.workers > 1 else ""
        print(f"{c.backend}, {c.workers} worker{s} (load {c.load} at start)")
        row = f"  {RUN_NAMES['ping'] + ' (one run)':<{label_width - 2}}"
        row += " | " + cells(c.ping)
        row += "".join(" | " + cells(None, "(the same run)") for _ in trees[1:])
        print(row)
        for key in ("healthz", "elevate", "verify", "probe", "storm"):
            row = f"  {RUN_NAMES[key]:<{label_width - 2}}"
            row += "".join(" | " + cells(c.trees[t.label].get(key)) for t in trees)
            print(row)
    if growth:
        print("growth: sqlite, 1 worker, POST /auth/elevate")
        by_tree = {g.tree: g for g in growth}
        for which in ("small", "large"):
            some = growth[0]
            accounts = some.small_accounts if which == "small" else some.large_accounts
            row = f"  {f'{accounts:,} accounts':<{label_width - 2}}"
            for t in trees:
                g = by_tree.get(t.label)
                row += " | " + cells(None if g is None else getattr(g, which))
            print(row)
    for c in configs:
        for label, results in c.trees.items():
            for key, result in results.items():
                for problem in result.problems:
                    print(f"server log, {label}, {c.name}, {RUN_NAMES[key]}: {problem}")
    sys.stdout.flush()


# --- main ----------------------------------------------------------------------------------


def check_tree(path: Path) -> Path:
    root = path.resolve()
    if not (root / "src" / "twostep" / "__init__.py").is_file():
        raise SystemExit(f"{path}: no src/twostep in this directory")
    return root


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
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
        help=f"connections of the ping, healthz, elevate and verify runs (targets: {CONNECTIONS})",
    )
    parser.add_argument(
        "--pool", type=int, help="accounts per request list, one per request (default 20,000)"
    )
    parser.add_argument(
        "--growth",
        type=int,
        default=GROWTH_LARGE,
        metavar="N",
        help=f"accounts of the large growth database (default {GROWTH_LARGE:,}; 0: no growth "
        f"runs), against {GROWTH_SMALL:,}",
    )
    parser.add_argument(
        "--tree",
        type=Path,
        default=REPOSITORY,
        metavar="DIR",
        help="source tree whose src/ the twostep server runs from (default: this repository)",
    )
    parser.add_argument(
        "--tree-before",
        type=Path,
        metavar="DIR",
        help="an earlier source tree to measure in the same run, side by side (not checked)",
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
    trees = [Tree("after" if args.tree_before else "twostep", check_tree(args.tree))]
    if args.tree_before:
        trees.insert(0, Tree("before", check_tree(args.tree_before)))
    current = trees[-1]

    print(MACHINE_NOTE)
    for tree in trees:
        print(f"{tree.label}: {tree.root} at {tree.version}")
    print(f"load before: {loadavg()} (1, 5, 15 min)")
    print(f"wrk: 1 thread; runs of {seconds:.0f} s; {args.connections} connections")
    configs: list[ConfigResult] = []
    growth: list[GrowthResult] = []
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="twostep-http-")))
        postgres = stack.enter_context(postgres_server()) if "postgresql" in backends else None
        bench = Bench(workdir, seconds, args.connections, args.profile, postgres)
        sets = [("elevate", pool, pool), ("login", pool, pool)]
        for backend in backends:
            print()
            with contextlib.ExitStack() as databases:
                setups = {
                    t.label: databases.enter_context(
                        tree_setup(t, backend, postgres, workdir, sets, backend)
                    )
                    for t in trees
                }
                for workers in args.workers:
                    tag = f"{backend}-{workers}w"
                    load = loadavg()
                    s = "s" if workers > 1 else ""
                    print(f"\n{backend}, {workers} worker{s} (load {load}):")
                    ping = bench.ping(current, workers, tag)
                    print(ping.line(RUN_NAMES["ping"]))
                    config = ConfigResult(backend, workers, load, ping)
                    # trees take turns going first, so a drifting load favours neither
                    order = trees if len(configs) % 2 == 0 else trees[::-1]
                    for tree in order:
                        results, profiles = bench.twostep(setups[tree.label], workers, tag)
                        config.trees[tree.label] = results
                        config.profiles += profiles
                    for summary in config.profiles:
                        print(summary)
                    configs.append(config)
        if "sqlite" in backends and args.growth:
            print(f"\ngrowth: elevate on {GROWTH_SMALL:,} and {args.growth:,} accounts")
            for tree in trees:  # each tree's pair of runs back to back: its ratio is what counts
                small_sets = [("growth", GROWTH_SMALL, GROWTH_SMALL)]
                large_sets = [("growth", args.growth, GROWTH_SMALL)]
                with (
                    tree_setup(tree, "sqlite", None, workdir, small_sets, "growth-small") as small,
                    tree_setup(tree, "sqlite", None, workdir, large_sets, "growth-large") as large,
                ):
                    growth.append(
                        GrowthResult(
                            tree.label,
                            bench.growth(small, GROWTH_SMALL, "growth-small"),
                            bench.growth(large, args.growth, "growth-large"),
                            GROWTH_SMALL,
                            args.growth,
                            large.seeded["growth"]["seconds"],
                        )
                    )

    print(f"\nload after: {loadavg()} (1, 5, 15 min)")
    print_table(configs, growth, trees)
    for g in growth:
        print(f"seeding {g.large_accounts:,} accounts ({g.tree}): {g.seed_seconds:.1f} s")
    print()
    missed = print_targets(targets(configs, growth, trees), trees)
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    sys.exit(main())
