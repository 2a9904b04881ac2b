"""The admin overview's aggregates, on SQLite and PostgreSQL, with real rows and a manual clock."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event

from tests.services.conftest import ORIGIN, T0, Enrolled, code_at
from twostep.clock import ManualClock
from twostep.errors import Forbidden, InvalidCode, TooManyAttempts
from twostep.services import enrollment, sessions, stats, step_up
from twostep.services.context import Context
from twostep.store import audit, users

PrincipalFor = Callable[[users.User], sessions.Principal]
TODAY = T0.date()  # 2026-03-04; T0 is 05:06:07 UTC


@pytest.fixture
def operator(
    ctx: Context, make_user: Callable[..., users.User], principal_for: PrincipalFor
) -> sessions.Principal:
    return principal_for(make_user("root@example.com", role="admin"))


def enroll(ctx: Context, clock: ManualClock, principal: sessions.Principal) -> str:
    """Add and confirm a device; its secret."""
    started = enrollment.begin(ctx, principal, "Phone", ORIGIN)
    enrollment.confirm(ctx, principal, started.device_id, code_at(started.secret, clock), ORIGIN)
    return started.secret


def record(ctx: Context, at: datetime, event_name: str, outcome: str, times: int = 1) -> None:
    with ctx.db.transaction() as tx:
        for _ in range(times):
            audit.record(tx, event=event_name, outcome=outcome, at=at, user_id="u-1")


@contextmanager
def statements(ctx: Context) -> Iterator[list[str]]:
    """The SQL statements run inside the block."""
    seen: list[str] = []

    def count(*args: Any) -> None:
        seen.append(str(args[2]))

    event.listen(ctx.db.engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(ctx.db.engine, "before_cursor_execute", count)


def test_adoption_per_day_counts_accounts_and_their_first_confirmed_device(
    ctx: Context,
    clock: ManualClock,
    make_user: Callable[..., users.User],
    principal_for: PrincipalFor,
) -> None:
    clock.set(T0 - timedelta(days=40))
    enroll(ctx, clock, principal_for(make_user("old@example.com")))
    clock.set(T0 - timedelta(days=10))
    late = principal_for(make_user("late@example.com"))
    pending = principal_for(make_user("pending@example.com"))
    clock.set(datetime(2026, 2, 27, 23, 59, 59, tzinfo=UTC))  # the last second of a day
    secret = enroll(ctx, clock, late)
    clock.advance(30)
    late = sessions.resolve(ctx, late.session.id)  # as the next request reads it: 2FA on
    step_up.step_up(ctx, late, ORIGIN, code=code_at(secret, clock))
    enroll(ctx, clock, sessions.resolve(ctx, late.session.id))  # still one account with 2FA
    enrollment.begin(ctx, pending, "Never confirmed", ORIGIN)
    clock.set(T0)
    admin = principal_for(make_user("root@example.com", role="admin"))

    numbers = stats.overview(ctx, admin, days=30)

    assert [d.day for d in numbers.adoption] == [TODAY - timedelta(days=29 - i) for i in range(30)]
    by_day = {d.day: (d.users, d.with_two_factor) for d in numbers.adoption}
    assert by_day[TODAY - timedelta(days=29)] == (1, 1)  # older rows fold into the start
    assert by_day[TODAY - timedelta(days=11)] == (1, 1)
    assert by_day[TODAY - timedelta(days=10)] == (3, 1)
    assert by_day[date(2026, 2, 27)] == (3, 2)
    assert by_day[TODAY] == (4, 2)
    assert numbers.adoption[-1].share == pytest.approx(0.5)
    assert (numbers.users, numbers.with_two_factor, numbers.share) == (4, 2, 0.5)


def test_checks_per_hour_by_outcome_over_the_last_48_hours(
    ctx: Context, operator: sessions.Principal
) -> None:
    hour = T0.replace(minute=0, second=0)
    record(ctx, hour + timedelta(minutes=1), "login.factor", "success", times=3)
    record(ctx, hour + timedelta(minutes=59), "elevate.factor", "failure", times=2)
    record(ctx, hour - timedelta(seconds=1), "reset.factor", "denied")
    record(ctx, hour - timedelta(hours=47), "login.factor", "success")
    record(ctx, hour - timedelta(hours=48), "login.factor", "success", times=9)  # too old
    record(ctx, hour, "login.password", "failure", times=4)  # not a second factor
    record(ctx, hour, "login.factor", "info")  # not a check outcome

    checks = stats.overview(ctx, operator).checks

    assert len(checks) == 48
    assert checks[0].hour == hour - timedelta(hours=47) and checks[-1].hour == hour
    assert (checks[-1].success, checks[-1].failure, checks[-1].denied) == (3, 2, 0)
    assert (checks[-2].success, checks[-2].failure, checks[-2].denied) == (0, 0, 1)
    assert checks[0].total == 1
    assert sum(c.total for c in checks) == 7
    overview = stats.overview(ctx, operator)
    assert (overview.checks_total, overview.checks_failed) == (7, 3)


def test_lockouts_per_day(ctx: Context, operator: sessions.Principal) -> None:
    record(ctx, datetime(2026, 3, 2, 23, 59, 59, tzinfo=UTC), "account.locked", "info", times=2)
    record(ctx, datetime(2026, 3, 3, 0, 0, 0, tzinfo=UTC), "account.locked", "info")
    record(ctx, T0, "account.locked", "info")
    record(ctx, T0 - timedelta(days=30), "account.locked", "info", times=5)  # before the window
    record(ctx, T0, "account.unlocked", "info")

    lockouts = {d.day: d.count for d in stats.overview(ctx, operator).lockouts}

    assert len(lockouts) == 30
    assert lockouts[date(2026, 3, 2)] == 2
    assert lockouts[date(2026, 3, 3)] == 1
    assert lockouts[TODAY] == 1
    assert sum(lockouts.values()) == 4


def test_a_real_lockout_shows_in_every_number(
    ctx: Context,
    clock: ManualClock,
    enrolled: Enrolled,
    operator: sessions.Principal,
    principal_for: PrincipalFor,
) -> None:
    victim = principal_for(enrolled.user)
    step_up.step_up(ctx, victim, ORIGIN, code=code_at(enrolled.secret, clock))
    outcomes: list[type[Exception]] = []
    for _ in range(ctx.settings.lockout_threshold + 1):
        try:
            step_up.step_up(ctx, victim, ORIGIN, code="000000")
        except (InvalidCode, TooManyAttempts) as exc:
            outcomes.append(type(exc))
    assert outcomes[-1] is TooManyAttempts

    numbers = stats.overview(ctx, operator)

    assert numbers.locked_now == 1
    assert numbers.lockouts[-1].count == 1
    now = numbers.checks[-1]
    assert now.success == 1
    assert now.failure == ctx.settings.lockout_threshold
    assert now.denied == 1


def test_the_overview_is_five_statements_whatever_the_rows(
    ctx: Context, clock: ManualClock, operator: sessions.Principal, principal_for: PrincipalFor
) -> None:
    with statements(ctx) as empty:
        stats.overview(ctx, operator)
    for day in range(3):
        clock.set(T0 - timedelta(days=day))
        record(ctx, clock.now(), "login.factor", "success", times=5)
        record(ctx, clock.now(), "account.locked", "info")
    clock.set(T0)
    with statements(ctx) as busy:
        stats.overview(ctx, operator)
    queries = [s for s in busy if s.lstrip().upper().startswith("SELECT")]
    assert len(queries) == 5
    assert len(busy) == len(empty)


def test_only_admins_read_numbers(
    ctx: Context, make_user: Callable[..., users.User], principal_for: PrincipalFor
) -> None:
    someone = principal_for(make_user("someone@example.com"))
    with pytest.raises(Forbidden):
        stats.overview(ctx, someone)
    with pytest.raises(Forbidden):
        stats.user_emails(ctx, someone, {someone.user.id})
    with pytest.raises(Forbidden):
        stats.user_id_for_email(ctx, someone, "someone@example.com")


def test_emails_label_ids_and_an_address_finds_its_account(
    ctx: Context, operator: sessions.Principal, make_user: Callable[..., users.User]
) -> None:
    alice = make_user("alice@example.com")
    found = stats.user_emails(ctx, operator, {alice.id, "gone", ""})
    assert found == {alice.id: "alice@example.com"}
    assert stats.user_emails(ctx, operator, set()) == {}
    assert stats.user_id_for_email(ctx, operator, "  Alice@Example.COM ") == alice.id
    assert stats.user_id_for_email(ctx, operator, "nobody@example.com") is None
    assert stats.user_id_for_email(ctx, operator, "not an address") is None
