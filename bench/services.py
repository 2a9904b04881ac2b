"""Benchmark of TOTP verification through the service layer, beside its raw SQL floor.

One verification through the services is: load the user's active devices, decrypt the
secret, verify the code (window ±1), move ``last_used_step`` forward with a conditional
``UPDATE``, write the audit row, all in one transaction. It is measured two ways:

* ``elevate``: :func:`twostep.services.step_up.step_up`, the step-up use case as the HTTP
  API calls it (it also checks the device count and the lockout counter, clears it, and marks
  the session elevated, with a second audit row);
* ``factors.check``: the factor check alone inside ``db.transaction()``.

Beside them, in the same run and on the same rows:

* ``raw SQL``: the three statements a verification cannot do without, issued directly
  through the database driver in one transaction: ``SELECT`` the device row, the
  conditional ``UPDATE`` of ``last_used_step``, ``INSERT`` the audit row;
* ``crypto``: AES-GCM open of the secret plus the TOTP verify, no database at all;
* the rest of what ``POST /auth/elevate`` does outside ``elevate``: ``sessions.resolve``
  (it runs twice per request) and the access token's EdDSA verify and issue;
* on PostgreSQL, ``elevate`` again on an engine without ``pool_pre_ping``, to price the
  extra round trip the pool makes on every checkout.

Every device is verified once per round at a fresh step (a ``ManualClock`` moves 30 s before
each case), so every verification succeeds. Each case runs once per round, interleaved;
the figures are those of the best round (least wall time) with the median wall time beside,
per verification on one thread: wall clock, CPU of this process, and CPU of the PostgreSQL
server when this script started it. The database is a temporary SQLite file and a throwaway
PostgreSQL cluster (``TWOSTEP_BENCH_DATABASE_URL`` names another server; its role needs
``CREATEDB``). No DESIGN.md §7 target applies to this layer alone: the script reports figures
and ratios.

    uv run python bench/services.py            # both backends
    uv run python bench/services.py --quick    # a short smoke run
    uv run python bench/services.py --profile  # ... plus a cProfile of elevate per backend
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import dataclasses
import io
import json
import pstats
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable, Iterator
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
    PgServer,
    database,
    exit_on_sigterm,
    postgres_server,
    seed,
    source_version,
    tree_cpu_seconds,
)
from sqlalchemy import event
from sqlalchemy.engine import make_url

from twostep.clock import ManualClock
from twostep.config import Settings
from twostep.mail import MemoryMailer
from twostep.otp import totp
from twostep.security import Keyring, PasswordHasher
from twostep.security.tokens import TokenSigner
from twostep.services import factors, sessions, step_up
from twostep.services.context import Context, Origin, build_context
from twostep.store import Database, devices

T0 = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
ORIGIN = Origin(ip="203.0.113.7", user_agent="twostep-bench/1.0")

SELECT_DEVICE = (
    "SELECT id, user_id, name, secret_ciphertext, key_id, algorithm, digits, period, status, "
    "weak, created_at, confirmed_at, last_used_step, last_used_at FROM totp_devices "
    "WHERE user_id = {p} AND status = {p} ORDER BY created_at, id"
)
UPDATE_STEP = (
    "UPDATE totp_devices SET last_used_step = {p}, last_used_at = {p} "
    "WHERE id = {p} AND status = 'active' AND (last_used_step IS NULL OR last_used_step < {p})"
)
INSERT_AUDIT = (
    "INSERT INTO audit_events (at, event, outcome, user_id, actor_id, ip, user_agent, details) "
    "VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {p}, {p})"
)


class RawSQL:
    """The three statements of a verification, through the bare driver, one transaction each."""

    def __init__(self, url: str) -> None:
        parsed = make_url(url)
        self.sqlite = parsed.get_backend_name() == "sqlite"
        self.conn: Any
        if self.sqlite:
            self.conn = sqlite3.connect(parsed.database or "", isolation_level=None, timeout=5)
            self.conn.execute("PRAGMA busy_timeout = 5000")
            self.conn.execute("PRAGMA foreign_keys = ON")
            self.conn.execute("PRAGMA synchronous = NORMAL")
            p = "?"
        else:
            libpq = parsed.set(drivername="postgresql").render_as_string(False)
            self.conn = psycopg.connect(libpq, options="-c timezone=UTC")
            p = "%s"
        self.select = SELECT_DEVICE.format(p=p)
        self.update = UPDATE_STEP.format(p=p)
        self.insert = INSERT_AUDIT.format(p=p)

    def verify(self, user_id: str, step: int, at: datetime) -> None:
        when: Any = str(at.replace(tzinfo=None)) if self.sqlite else at
        details = json.dumps({"method": "otp"})
        if self.sqlite:
            cur = self.conn.cursor()
            cur.execute("BEGIN IMMEDIATE")
        else:
            cur = self.conn.cursor()  # psycopg opens the transaction on the first statement
        try:
            cur.execute(self.select, (user_id, "active"))
            device = cur.fetchone()
            cur.execute(self.update, (step, when, device[0], step))
            if cur.rowcount != 1:
                raise RuntimeError("raw conditional UPDATE changed no row")
            row = (when, "elevate.factor", "success", user_id, user_id, ORIGIN.ip)
            cur.execute(self.insert, (*row, ORIGIN.user_agent, details))
        except BaseException:
            if self.sqlite:
                cur.execute("ROLLBACK")
            else:
                self.conn.rollback()
            raise
        if self.sqlite:
            cur.execute("COMMIT")
        else:
            self.conn.commit()

    def close(self) -> None:
        self.conn.close()


@dataclass(frozen=True)
class Sample:
    """Seconds per verification: wall clock, CPU of this process, CPU of the database server."""

    wall: float
    cpu: float
    db_cpu: float


@dataclass
class Bench:
    """One backend's context, seeded accounts and their principals."""

    ctx: Context
    clock: ManualClock
    accounts: list[Account]
    principals: list[sessions.Principal]
    raw: RawSQL
    db_pid: int | None
    signer: TokenSigner
    tokens: list[str]
    no_ping: Context | None = None

    def fresh_codes(self) -> tuple[list[str], int]:
        """Move to a new step; every device's code there (not timed)."""
        self.clock.advance(30)
        at = self.clock.now().timestamp()
        return [totp(a.key, at) for a in self.accounts], int(at // 30)

    @contextlib.contextmanager
    def timed(self, out: list[Sample]) -> Iterator[None]:
        db_cpu = tree_cpu_seconds(self.db_pid)
        cpu, wall = time.process_time(), time.perf_counter()
        yield
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        db_cpu = tree_cpu_seconds(self.db_pid) - db_cpu
        n = len(self.accounts)
        out.append(Sample(wall / n, cpu / n, db_cpu / n))

    def run_elevate(self, ctx: Context | None = None) -> Sample:
        ctx = ctx or self.ctx
        codes, _ = self.fresh_codes()
        out: list[Sample] = []
        with self.timed(out):
            for principal, code in zip(self.principals, codes, strict=True):
                step_up.step_up(ctx, principal, ORIGIN, code=code)
        return out[0]

    def run_elevate_no_ping(self) -> Sample:
        return self.run_elevate(self.no_ping)

    def run_resolve(self) -> Sample:
        out: list[Sample] = []
        with self.timed(out):
            for account in self.accounts:
                sessions.resolve(self.ctx, account.session_id)
        return out[0]

    def run_tokens(self) -> Sample:
        verifier = self.signer.verifier()
        now = self.clock.now()
        out: list[Sample] = []
        with self.timed(out):
            for token, principal in zip(self.tokens, self.principals, strict=True):
                verifier.verify(token, now=now.timestamp())
                self.signer.issue(
                    subject=principal.user.id, session_id=principal.session.id, amr=["pwd", "otp"],
                    auth_time=now, now=now, elevated_until=now, role=principal.user.role,
                )  # fmt: skip
        return out[0]

    def run_check(self) -> Sample:
        codes, _ = self.fresh_codes()
        ctx = self.ctx
        out: list[Sample] = []
        with self.timed(out):
            for principal, code in zip(self.principals, codes, strict=True):
                at = ctx.clock.now()
                with ctx.db.transaction() as tx:
                    factors.check(
                        tx, ctx, principal.user, code=code, backup_code=None, at=at,
                        origin=ORIGIN, purpose="elevate",
                    )  # fmt: skip
        return out[0]

    def run_raw(self) -> Sample:
        _, step = self.fresh_codes()
        at = self.clock.now()
        out: list[Sample] = []
        with self.timed(out):
            for account in self.accounts:
                self.raw.verify(account.user_id, step, at)
        return out[0]

    def run_crypto(self) -> Sample:
        codes, _ = self.fresh_codes()
        ctx = self.ctx
        with ctx.db.transaction(readonly=True) as tx:
            rows = [devices.list_for_user(tx, a.user_id, status="active")[0] for a in self.accounts]
        at = self.clock.now().timestamp()
        out: list[Sample] = []
        with self.timed(out):
            for device, code in zip(rows, codes, strict=True):
                secret = factors.decrypt_secret(ctx, device)
                step = ctx.provider.verify(secret, code, at=at, after_step=device.last_used_step)
                if step is None:
                    raise RuntimeError("crypto-only verification failed")
        return out[0]


@contextlib.contextmanager
def statement_counter(ctx: Context) -> Iterator[list[str]]:
    """Collect the SQL statements the engine sends (pool pings and BEGIN/COMMIT excluded)."""
    seen: list[str] = []

    def before(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement.split(None, 1)[0].upper())

    event.listen(ctx.db.engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(ctx.db.engine, "before_cursor_execute", before)


def setup(url: str, count: int, password_hash: str, db_pid: int | None) -> Bench:
    keyring = Keyring.generate(signing=True)
    clock = ManualClock(T0)
    settings = Settings(public_url="https://auth.example.test", database_url=url)
    ctx = build_context(
        settings,
        db=Database.from_url(url),
        clock=clock,
        mailer=MemoryMailer(),
        keyring=keyring,
        passwords=PasswordHasher(),
    )
    accounts = seed(ctx.db, keyring, count=count, at=T0, password_hash=password_hash)
    principals = [sessions.resolve(ctx, a.session_id) for a in accounts]
    signer = TokenSigner.ed25519(
        keyring, issuer=settings.token_issuer, audience=settings.token_audience, ttl_seconds=86400
    )
    tokens = [
        signer.issue(
            subject=p.user.id, session_id=p.session.id, amr=["pwd"], auth_time=T0, now=T0
        ).token
        for p in principals
    ]
    bench = Bench(ctx, clock, accounts, principals, RawSQL(url), db_pid, signer, tokens)
    if ctx.db.dialect == "postgresql":
        bench.no_ping = dataclasses.replace(ctx, db=Database.from_url(url, pool_pre_ping=False))
    return bench


def profile_elevate(bench: Bench, top: int = 30) -> str:
    codes, _ = bench.fresh_codes()
    profiler = cProfile.Profile()
    profiler.enable()
    for principal, code in zip(bench.principals, codes, strict=True):
        step_up.step_up(bench.ctx, principal, ORIGIN, code=code)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(top)
    return out.getvalue()


def measure(cases: dict[str, Callable[[], Sample]], rounds: int) -> dict[str, tuple[Sample, float]]:
    """Per case: the best round (least wall time) and the median wall time."""
    samples: dict[str, list[Sample]] = {name: [] for name in cases}
    for _ in range(rounds):
        for name, run in cases.items():
            samples[name].append(run())
    return {
        name: (min(s, key=lambda x: x.wall), statistics.median(x.wall for x in s))
        for name, s in samples.items()
    }


def bench_backend(
    backend: str,
    postgres: PgServer | None,
    count: int,
    rounds: int,
    password_hash: str,
    profile: bool,
) -> dict[str, Sample]:
    with database(backend, postgres) as url:
        bench = setup(url, count, password_hash, postgres.pid if postgres else None)
        try:
            cases: dict[str, Callable[[], Sample]] = {
                "elevate (service)": bench.run_elevate,
                "factors.check in a transaction": bench.run_check,
                "raw SQL: SELECT + UPDATE + INSERT, 1 tx": bench.run_raw,
                "crypto only: AES-GCM open + TOTP verify": bench.run_crypto,
                "sessions.resolve (read tx: session + user)": bench.run_resolve,
                "access token: EdDSA verify + issue": bench.run_tokens,
            }
            if bench.no_ping is not None:
                cases["elevate, engine without pool_pre_ping"] = bench.run_elevate_no_ping
            for run in cases.values():
                run()  # warm up: pools, prepared statements, caches
            with statement_counter(bench.ctx) as seen:
                codes, _ = bench.fresh_codes()
                step_up.step_up(bench.ctx, bench.principals[0], ORIGIN, code=codes[0])
            elevate_sql = list(seen)
            with statement_counter(bench.ctx) as seen:
                codes, _ = bench.fresh_codes()
                at = bench.ctx.clock.now()
                with bench.ctx.db.transaction() as tx:
                    factors.check(
                        tx, bench.ctx, bench.principals[0].user, code=codes[0], backup_code=None,
                        at=at, origin=ORIGIN, purpose="elevate",
                    )  # fmt: skip
            check_sql = list(seen)
            results = measure(cases, rounds)
            print(f"\n{backend}: {count} devices, {rounds} rounds, each device once per round")
            print(f"  elevate sends {len(elevate_sql)} statements: {' '.join(elevate_sql)}")
            print(f"  factors.check sends {len(check_sql)}: {' '.join(check_sql)}")
            db_col = "  DB CPU" if postgres else ""
            print(
                f"  {'µs per verification (best round; median wall)':<46} {'wall':>8} "
                f"{'median':>8} {'our CPU':>8}{db_col}"
            )
            for name, (best, median) in results.items():
                db = f" {best.db_cpu * 1e6:7.0f}" if postgres else ""
                print(
                    f"  {name:<46} {best.wall * 1e6:8.0f} {median * 1e6:8.0f} "
                    f"{best.cpu * 1e6:8.0f}{db}"
                )
            if profile:
                print(profile_elevate(bench))
            return {name: best for name, (best, _) in results.items()}
        finally:
            bench.raw.close()
            bench.ctx.db.dispose()
            if bench.no_ping is not None:
                bench.no_ping.db.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument(
        "--check",
        action="store_true",
        help="accepted like the other benchmarks; no target applies here (a failed "
        "verification always stops the run with an error)",
    )
    parser.add_argument("--profile", action="store_true", help="print a cProfile of elevate")
    parser.add_argument(
        "--backend", choices=[*BACKENDS, "both"], default="both", help="which database(s)"
    )
    args = parser.parse_args()
    exit_on_sigterm()
    count, rounds = (100, 3) if args.quick else (500, 7)
    backends = BACKENDS if args.backend == "both" else (args.backend,)
    password_hash = PasswordHasher().hash(PASSWORD)  # once: argon2 is not what we measure

    print(MACHINE_NOTE)
    print(f"twostep at {source_version()}")
    print(f"load before: {Path('/proc/loadavg').read_text().split()[:3]} (1, 5, 15 min)")
    results: dict[str, dict[str, Sample]] = {}
    with contextlib.ExitStack() as stack:
        postgres = None
        if "postgresql" in backends:
            postgres = stack.enter_context(postgres_server())
        for backend in backends:
            results[backend] = bench_backend(
                backend, postgres, count, rounds, password_hash, args.profile
            )
    print(f"load after: {Path('/proc/loadavg').read_text().split()[:3]} (1, 5, 15 min)")

    print("\nratios of wall time per verification (best rounds, same run)")
    for backend, r in results.items():
        elevate, check = r["elevate (service)"].wall, r["factors.check in a transaction"].wall
        raw = r["raw SQL: SELECT + UPDATE + INSERT, 1 tx"].wall
        crypto = r["crypto only: AES-GCM open + TOTP verify"].wall
        resolve = r["sessions.resolve (read tx: session + user)"].wall
        tokens = r["access token: EdDSA verify + issue"].wall
        http_work = 2 * resolve + elevate + tokens
        print(f"  {backend}:")
        print(f"    elevate {1 / elevate:7,.0f}/s, factors.check {1 / check:7,.0f}/s, ", end="")
        print(f"raw SQL {1 / raw:7,.0f}/s")
        print(f"    elevate / raw SQL                {elevate / raw:5.2f}x")
        print(f"    factors.check / raw SQL          {check / raw:5.2f}x")
        print(f"    factors.check / (raw SQL+crypto) {check / (raw + crypto):5.2f}x")
        print(
            f"    service work of one HTTP verify (2 resolve + elevate + token verify/issue): "
            f"{http_work * 1e6:,.0f} µs = {http_work / raw:4.1f}x raw SQL"
        )
        if "elevate, engine without pool_pre_ping" in r:
            no_ping = r["elevate, engine without pool_pre_ping"].wall
            print(f"    elevate with / without pre-ping  {elevate / no_ping:5.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
