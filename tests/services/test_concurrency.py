"""A code is accepted once under real concurrency, through the services (DESIGN §4.1-4.3).

Twenty threads, released together by a barrier, each present the same valid TOTP code (or
the same backup code) on a session or challenge of their own: exactly one succeeds and the
other nineteen get :class:`InvalidCode`. The same holds for two spawned processes, each with
its own engine and :class:`Context`, and on PostgreSQL as on SQLite. Concurrent wrong codes
are all counted by the per-account lockout.

The lockout threshold is raised where the losers of a race must be seen as ``InvalidCode``:
with the default of 5, the sixth loser would already be refused as locked.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any, Literal

import pytest

from tests.services.conftest import ORIGIN, PASSWORD, Enrolled, code_at
from tests.services.support import wrong_code
from tests.support.concurrency import in_processes, named, together
from twostep.clock import ManualClock
from twostep.config import Settings
from twostep.errors import TooManyAttempts, TwostepError
from twostep.mail import MemoryMailer
from twostep.security import Keyring, PasswordHasher
from twostep.services import lockout, login, sessions, step_up
from twostep.services.context import Context, build_context
from twostep.store import Database, audit, backup_codes, challenges, devices, throttles, users

THREADS = 20
PROCESSES = 2
Service = Literal["elevate", "login"]
Factor = Literal["totp", "backup"]
Race = tuple[Service, Factor, str, float, list[str]]
"""(service, factor, code, clock timestamp, target ids): plain data, so it crosses spawn."""


def targets(ctx: Context, user: users.User, service: Service, count: int) -> list[str]:
    """``count`` fresh sessions (to elevate) or login challenges (to complete) of ``user``."""
    at = ctx.clock.now()
    with ctx.db.transaction() as tx:
        if service == "elevate":
            return [
                sessions.start(tx, ctx, user, amr=["pwd", "otp"], at=at, origin=ORIGIN).session.id
                for _ in range(count)
            ]
        expires_at = at + timedelta(seconds=ctx.settings.challenge_seconds)
        return [
            challenges.create(
                tx,
                user_id=user.id,
                purpose="login",
                methods=["totp", "backup_code"],
                amr=["pwd"],
                at=at,
                expires_at=expires_at,
            ).id  # fmt: skip
            for _ in range(count)
        ]


def attempt(ctx: Context, service: Service, factor: Factor, code: str) -> Callable[[str], None]:
    """The call each thread makes on its own target id."""
    factor_kw: dict[str, Any] = {"code": code} if factor == "totp" else {"backup_code": code}

    def call(target: str) -> None:
        if service == "elevate":
            principal = sessions.resolve(ctx, target)
            step_up.step_up(ctx, principal, ORIGIN, **factor_kw)
        else:
            login.complete(ctx, target, ORIGIN, **factor_kw)

    return call


def race(call: Callable[[str], None], ids: Sequence[str], start: Any = None) -> list[str]:
    """Run ``call`` once per id, in threads released together; each outcome's name."""
    return named(together([functools.partial(call, target) for target in ids], start))


def process_main(
    url: str, settings: Settings, keyring_json: str, plan: list[Race], start: Any
) -> list[list[str]]:
    """One spawned process: its own engine and context; run each race, return the outcomes."""
    db = Database.from_url(url)
    clock = ManualClock()
    ctx = build_context(
        settings, db=db, clock=clock, mailer=MemoryMailer(), keyring=Keyring.from_json(keyring_json)
    )
    try:
        report = []
        for service, factor, code, at, ids in plan:
            clock.set(at)
            report.append(race(attempt(ctx, service, factor, code), ids, start))
        return report
    finally:
        db.dispose()


def raise_threshold(ctx: Context, threshold: int = 100) -> None:
    ctx.settings = ctx.settings.model_copy(update={"lockout_threshold": threshold})


def check_consumed(ctx: Context, enrolled: Enrolled, factor: Factor, clock: ManualClock) -> None:
    with ctx.db.transaction(readonly=True) as tx:
        if factor == "totp":
            device = devices.get(tx, enrolled.device_id)
            assert device is not None
            assert device.last_used_step == int(clock.now().timestamp()) // 30
        else:
            assert backup_codes.status(tx, enrolled.user.id).remaining == 9


@pytest.mark.parametrize("service", ["elevate", "login"])
@pytest.mark.parametrize("factor", ["totp", "backup"])
def test_one_code_in_twenty_threads_succeeds_once(
    ctx: Context, enrolled: Enrolled, clock: ManualClock, service: Service, factor: Factor
) -> None:
    raise_threshold(ctx)
    code = code_at(enrolled.secret, clock) if factor == "totp" else enrolled.backup_codes[0]
    ids = targets(ctx, enrolled.user, service, THREADS)
    outcomes = race(attempt(ctx, service, factor, code), ids)
    assert sorted(outcomes) == ["InvalidCode"] * (THREADS - 1) + ["ok"]
    check_consumed(ctx, enrolled, factor, clock)


def test_one_code_in_two_processes_succeeds_once(
    ctx: Context, enrolled: Enrolled, clock: ManualClock, keyring: Keyring, database_url: str
) -> None:
    """Two spawned processes, ten threads each, per race; four races, one success each."""
    raise_threshold(ctx)
    per_process = THREADS // PROCESSES
    kinds: list[tuple[Service, Factor]] = [
        ("elevate", "totp"), ("login", "backup"), ("login", "totp"), ("elevate", "backup"),
    ]  # fmt: skip
    races: list[Race] = []
    backups = iter(enrolled.backup_codes)
    for index, (service, factor) in enumerate(kinds):
        at = clock.now() + timedelta(seconds=30 * index)  # a fresh step for each TOTP race
        code = totp_at(enrolled.secret, at.timestamp()) if factor == "totp" else next(backups)
        ids = targets(ctx, enrolled.user, service, THREADS)
        races.append((service, factor, code, at.timestamp(), ids))

    args: list[tuple[Any, ...]] = []
    for p in range(PROCESSES):
        share = slice(p * per_process, (p + 1) * per_process)
        plan = [(s, f, c, t, ids[share]) for s, f, c, t, ids in races]
        args.append((database_url, ctx.settings, keyring.to_json(), plan))
    reports = in_processes(process_main, args)
    for index, kind in enumerate(kinds):
        outcomes = [outcome for report in reports for outcome in report[index]]
        assert sorted(outcomes) == ["InvalidCode"] * (THREADS - 1) + ["ok"], kind
    with ctx.db.transaction(readonly=True) as tx:
        assert backup_codes.status(tx, enrolled.user.id).remaining == 8


def totp_at(secret: str, timestamp: float) -> str:
    return code_at(secret, ManualClock(timestamp))


def test_twenty_concurrent_wrong_codes_are_all_counted(
    ctx: Context, enrolled: Enrolled, clock: ManualClock
) -> None:
    raise_threshold(ctx, 50)
    ids = targets(ctx, enrolled.user, "elevate", THREADS)
    outcomes = race(attempt(ctx, "elevate", "totp", wrong_code(enrolled.secret, clock)), ids)
    assert outcomes == ["InvalidCode"] * THREADS
    with ctx.db.transaction(readonly=True) as tx:
        state = throttles.get(tx, lockout.otp_key(enrolled.user.id))
    assert state is not None and state.failures == THREADS
    assert not state.is_locked(clock.now())


def test_concurrent_wrong_codes_engage_the_default_lock(
    ctx: Context, enrolled: Enrolled, clock: ManualClock
) -> None:
    threshold = ctx.settings.lockout_threshold
    ids = targets(ctx, enrolled.user, "login", THREADS)
    outcomes = race(attempt(ctx, "login", "totp", wrong_code(enrolled.secret, clock)), ids)
    # Failures 1..threshold-1 are plain misses; the one that locks, and every later or
    # refused attempt, gets the lockout.
    assert sorted(outcomes) == ["InvalidCode"] * (threshold - 1) + ["TooManyAttempts"] * (
        THREADS - threshold + 1
    )
    with ctx.db.transaction(readonly=True) as tx:
        state = throttles.get(tx, lockout.otp_key(enrolled.user.id))
    assert state is not None and state.failures >= threshold and state.lock_count == 1
    assert state.is_locked(clock.now())

    (fresh,) = targets(ctx, enrolled.user, "elevate", 1)
    with pytest.raises(TooManyAttempts) as locked:
        attempt(ctx, "elevate", "totp", code_at(enrolled.secret, clock))(fresh)
    assert locked.value.retry_after == ctx.settings.lockout_minutes * 60


def test_a_lockout_holds_in_a_new_process(
    ctx: Context, enrolled: Enrolled, clock: ManualClock, keyring: Keyring, database_url: str
) -> None:
    """The counter lives in the database: a fresh process sees the lock and refuses the code."""
    wrong = attempt(ctx, "elevate", "totp", wrong_code(enrolled.secret, clock))
    for session_id in targets(ctx, enrolled.user, "elevate", ctx.settings.lockout_threshold):
        with pytest.raises(TwostepError):
            wrong(session_id)
    clock.advance(30)
    right = code_at(enrolled.secret, clock)
    plan: list[Race] = [
        (
            "elevate",
            "totp",
            right,
            clock.now().timestamp(),
            targets(ctx, enrolled.user, "elevate", 1),
        )
    ]
    args = (database_url, ctx.settings, keyring.to_json(), plan)
    assert in_processes(process_main, [args]) == [[["TooManyAttempts"]]]


def test_a_burst_of_wrong_codes_gets_at_most_threshold_checks(
    ctx: Context, enrolled: Enrolled, clock: ManualClock
) -> None:
    """Each attempt is reserved before its check: past the threshold nothing is checked."""
    threshold = ctx.settings.lockout_threshold
    ids = targets(ctx, enrolled.user, "login", THREADS)
    race(attempt(ctx, "login", "totp", wrong_code(enrolled.secret, clock)), ids)
    with ctx.db.transaction(readonly=True) as tx:
        checked = audit.query(tx, event="login.factor", outcome="failure")
        refused = audit.query(tx, event="login.factor", outcome="denied")
        locks = audit.query(tx, event="account.locked")
    assert (len(checked), len(refused), len(locks)) == (threshold, THREADS - threshold, 1)


class CountingHasher(PasswordHasher):
    """Counts every argon2 verification, real or dummy (each one costs the same)."""

    def __init__(self) -> None:
        super().__init__()
        self.checks = 0
        self._lock = threading.Lock()

    def _count(self) -> None:
        with self._lock:
            self.checks += 1

    def verify(self, stored_hash: str, password: str) -> bool:
        self._count()
        return super().verify(stored_hash, password)

    def dummy_verify(self, password: str) -> None:
        self._count()
        super().dummy_verify(password)


def test_a_password_burst_gets_at_most_threshold_hashes(
    ctx: Context, make_user: Callable[..., users.User]
) -> None:
    """Thirty wrong passwords at once: exactly the threshold are hashed, the rest refused
    before argon2 runs (DESIGN §4.3); then even the right password is refused."""
    hasher = CountingHasher()
    ctx.passwords = hasher
    user = make_user()
    hasher.checks = 0
    threshold = ctx.settings.password_lockout_threshold
    guesses = [f"wrong guess {n}" for n in range(30)]

    def call(password: str) -> None:
        login.login(ctx, user.email, password, ORIGIN)

    outcomes = race(call, guesses)
    assert hasher.checks == threshold
    assert sorted(outcomes) == ["InvalidCredentials"] * (threshold - 1) + ["TooManyAttempts"] * (
        len(guesses) - threshold + 1
    )
    with pytest.raises(TooManyAttempts):
        login.login(ctx, user.email, PASSWORD, ORIGIN)
    assert hasher.checks == threshold
