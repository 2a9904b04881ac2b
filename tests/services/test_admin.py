"""Operator use cases, on SQLite and PostgreSQL: listing, detail, reset, unlock, roles."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import timedelta

import pytest

from tests.services.conftest import ORIGIN, PASSWORD, Enrolled, code_at
from tests.services.support import add_device, elevate_now
from tests.support.concurrency import named, together
from twostep.clock import ManualClock
from twostep.errors import (
    ElevationRequired,
    Forbidden,
    InvalidCode,
    InvalidCredentials,
    InvalidInput,
    NotFound,
    TooManyAttempts,
    Unauthenticated,
)
from twostep.mail import MemoryMailer
from twostep.services import admin, backup_codes, lockout, login, sessions
from twostep.services.context import Context
from twostep.store import audit, throttles, users

PrincipalFor = Callable[[users.User], sessions.Principal]


@dataclass(frozen=True)
class Operator:
    principal: sessions.Principal
    secret: str


def make_admin(
    ctx: Context, clock: ManualClock, user: users.User, principal_for: PrincipalFor
) -> Operator:
    """Give ``user`` (an admin) a device and an elevated session."""
    principal = principal_for(user)
    _, secret = add_device(ctx, principal, clock, "Admin phone")
    clock.advance(30)
    return Operator(elevate_now(ctx, principal, secret, clock), secret)


@pytest.fixture
def root(
    ctx: Context,
    clock: ManualClock,
    make_user: Callable[..., users.User],
    principal_for: PrincipalFor,
) -> Operator:
    return make_admin(ctx, clock, make_user("root@example.com", role="admin"), principal_for)


def sign_in(ctx: Context, email: str, code: str) -> sessions.IssuedSession:
    challenge = login.login(ctx, email, PASSWORD, ORIGIN)
    assert isinstance(challenge, login.ChallengeIssued)
    return login.complete(ctx, challenge.challenge_id, ORIGIN, code=code)


def admin_events(ctx: Context, event: str) -> list[audit.AuditEvent]:
    with ctx.db.transaction(readonly=True) as tx:
        return audit.query(tx, event=event)


def test_non_admins_are_forbidden(
    ctx: Context, enrolled: Enrolled, clock: ManualClock, principal_for: PrincipalFor
) -> None:
    alice = elevate_now(ctx, principal_for(enrolled.user), enrolled.secret, clock)
    target = enrolled.user.id
    calls: list[Callable[[], object]] = [
        lambda: admin.list_users(ctx, alice),
        lambda: admin.user_detail(ctx, alice, target),
        lambda: admin.audit_log(ctx, alice),
        lambda: admin.reset_two_factor(ctx, alice, target, ORIGIN),
        lambda: admin.unlock(ctx, alice, target, ORIGIN),
        lambda: admin.set_role(ctx, alice, target, "admin", ORIGIN),
        lambda: admin.set_active(ctx, alice, target, False, ORIGIN),
        lambda: admin.revoke_sessions(ctx, alice, target, ORIGIN),
    ]
    for call in calls:
        with pytest.raises(Forbidden):
            call()
    denied = admin_events(ctx, "admin.denied")
    assert sorted(e.details["action"] for e in denied) == [
        "reset_two_factor", "revoke_sessions", "set_active", "set_role", "unlock",
    ]  # fmt: skip
    assert {(e.actor_id, e.outcome) for e in denied} == {(target, "denied")}
    with ctx.db.transaction(readonly=True) as tx:
        assert users.get(tx, target) == enrolled.user  # nothing changed


def test_actions_need_the_admins_session_elevated(
    ctx: Context, root: Operator, enrolled: Enrolled, principal_for: PrincipalFor
) -> None:
    fresh = principal_for(root.principal.user)
    assert admin.list_users(ctx, fresh).total == 2  # reads need no elevation
    with pytest.raises(ElevationRequired):
        admin.reset_two_factor(ctx, fresh, enrolled.user.id, ORIGIN)
    with pytest.raises(ElevationRequired):
        admin.set_role(ctx, fresh, enrolled.user.id, "admin", ORIGIN)


def test_list_users_filters_and_pages(
    ctx: Context,
    root: Operator,
    enrolled: Enrolled,
    clock: ManualClock,
    make_user: Callable[..., users.User],
) -> None:
    made = {}
    for name in ("bob", "carol", "dave", "eve"):
        clock.advance(1)
        made[name] = make_user(f"{name}@example.com")
    at = clock.now()
    with ctx.db.transaction() as tx:  # dave is locked now; eve's lock lapsed long ago
        throttles.register_failure(tx, lockout.otp_key(made["dave"].id), at, 1, 900)
        throttles.register_failure(
            tx, lockout.otp_key(made["eve"].id), at - timedelta(hours=2), 1, 900
        )
    op = root.principal

    def emails(page: admin.Page[admin.UserSummary]) -> list[str]:
        return [item.email.partition("@")[0] for item in page.items]

    everyone = admin.list_users(ctx, op)
    assert (everyone.total, everyone.pages) == (6, 1)
    names = emails(everyone)  # oldest first; alice and root share the first instant
    assert sorted(names[:2]) == ["alice", "root"] and names[2:] == ["bob", "carol", "dave", "eve"]
    assert "password_hash" not in {f.name for f in fields(admin.UserSummary)}
    by_email = {item.email: item for item in everyone.items}
    assert by_email["alice@example.com"].two_factor_enabled
    assert by_email["alice@example.com"].active_devices == 1
    assert not by_email["bob@example.com"].two_factor_enabled
    assert by_email["dave@example.com"].locked_until == at + timedelta(seconds=900)
    assert not by_email["eve@example.com"].locked

    assert sorted(emails(admin.list_users(ctx, op, two_factor="enabled"))) == ["alice", "root"]
    disabled = admin.list_users(ctx, op, two_factor="disabled")
    assert emails(disabled) == ["bob", "carol", "dave", "eve"]
    locked = admin.list_users(ctx, op, two_factor="locked")
    assert (emails(locked), locked.total) == (["dave"], 1)
    assert emails(admin.list_users(ctx, op, query=" CAR ")) == ["carol"]
    assert admin.list_users(ctx, op, query="%").total == 0  # wildcards are literal
    assert emails(admin.list_users(ctx, op, query="ve", two_factor="disabled")) == [
        "dave", "eve",
    ]  # fmt: skip

    second = admin.list_users(ctx, op, page=2, per_page=2)
    assert (emails(second), second.total, second.pages) == (["bob", "carol"], 6, 3)
    assert admin.list_users(ctx, op, page=4, per_page=2).items == []
    for bad in ({"page": 0}, {"per_page": 0}, {"per_page": 201}):
        with pytest.raises(InvalidInput):
            admin.list_users(ctx, op, **bad)  # type: ignore[arg-type]


def test_user_detail_shows_devices_codes_sessions_and_events(
    ctx: Context, root: Operator, enrolled: Enrolled, clock: ManualClock
) -> None:
    issued = sign_in(ctx, enrolled.user.email, code_at(enrolled.secret, clock))
    with pytest.raises(InvalidCode):
        sign_in(ctx, enrolled.user.email, "000000")
    detail = admin.user_detail(ctx, root.principal, enrolled.user.id)
    assert detail.account.email == enrolled.user.email and detail.account.two_factor_enabled
    assert [(d.id, d.status) for d in detail.devices] == [(enrolled.device_id, "active")]
    assert (detail.backup.remaining, detail.backup.total) == (10, 10)
    assert [s.id for s in detail.sessions][0] == issued.session.id  # newest first
    assert len(detail.sessions) == 2  # and the one the enrollment signed in with
    assert "refresh_hash" not in {f.name for f in fields(admin.SessionInfo)}
    assert detail.factor_failures == 1 and not detail.account.locked
    assert detail.recent_events[0].event == "login.factor"
    assert len(detail.recent_events) <= admin.RECENT_EVENTS
    with pytest.raises(NotFound):
        admin.user_detail(ctx, root.principal, "no-such-user")


def test_reset_two_factor_makes_login_password_only_and_is_audited(
    ctx: Context,
    root: Operator,
    enrolled: Enrolled,
    principal_for: PrincipalFor,
    mailer: MemoryMailer,
) -> None:
    alice = principal_for(enrolled.user)
    admin.reset_two_factor(ctx, root.principal, enrolled.user.id, ORIGIN)
    with pytest.raises(Unauthenticated):
        sessions.resolve(ctx, alice.session.id)
    result = login.login(ctx, enrolled.user.email, PASSWORD, ORIGIN)
    assert isinstance(result, sessions.IssuedSession)
    assert backup_codes.backup_status(ctx, principal_for(enrolled.user)).total == 0
    notice = mailer.last("two_factor_reset_by_admin")
    assert notice.to == enrolled.user.email
    assert ORIGIN.ip is not None and ORIGIN.ip not in notice.text  # the operator's address
    (event,) = admin_events(ctx, "admin.two_factor_reset")
    assert (event.actor_id, event.user_id) == (root.principal.user.id, enrolled.user.id)
    assert event.details == {"devices_removed": 1, "backup_removed": 10, "sessions_revoked": 2}
    with ctx.db.transaction(readonly=True) as tx:
        after = users.get(tx, enrolled.user.id)
    assert after is not None and after.token_version == enrolled.user.token_version + 1
    with pytest.raises(NotFound):
        admin.reset_two_factor(ctx, root.principal, "no-such-user", ORIGIN)


def test_unlock_lets_a_locked_user_in(
    ctx: Context, root: Operator, enrolled: Enrolled, clock: ManualClock
) -> None:
    email = enrolled.user.email
    for _ in range(ctx.settings.lockout_threshold):
        with pytest.raises((InvalidCode, TooManyAttempts)):
            sign_in(ctx, email, "000000")
    for _ in range(ctx.settings.password_lockout_threshold - 1):
        with pytest.raises(InvalidCredentials):
            login.login(ctx, email, "not the password", ORIGIN)
    with pytest.raises(TooManyAttempts):  # the failure that locks says so
        login.login(ctx, email, "not the password", ORIGIN)
    with pytest.raises(TooManyAttempts):
        login.login(ctx, email, PASSWORD, ORIGIN)
    assert admin.list_users(ctx, root.principal, two_factor="locked").total == 1

    assert admin.unlock(ctx, root.principal, enrolled.user.id, ORIGIN)
    issued = sign_in(ctx, email, code_at(enrolled.secret, clock))
    assert issued.session.amr == ("pwd", "otp")
    (event,) = admin_events(ctx, "admin.unlocked")
    assert event.actor_id == root.principal.user.id and event.user_id == enrolled.user.id
    assert event.details == {"factor_lock_lifted": True, "sign_in_lock_lifted": True}
    assert not admin.unlock(ctx, root.principal, enrolled.user.id, ORIGIN)  # nothing locked


def test_the_last_admin_cannot_be_demoted_or_deactivated(
    ctx: Context,
    root: Operator,
    make_user: Callable[..., users.User],
    principal_for: PrincipalFor,
) -> None:
    me = root.principal.user.id
    with pytest.raises(Forbidden, match="last administrator"):
        admin.set_role(ctx, root.principal, me, "user", ORIGIN)
    with pytest.raises(Forbidden):
        admin.set_active(ctx, root.principal, me, False, ORIGIN)
    bob = make_user("bob@example.com")
    admin.set_role(ctx, root.principal, bob.id, "admin", ORIGIN)
    admin.set_role(ctx, root.principal, me, "user", ORIGIN)
    with pytest.raises(Forbidden):
        admin.list_users(ctx, principal_for(root.principal.user))  # re-read: no longer admin
    changes = admin_events(ctx, "admin.role_changed")
    assert [(e.user_id, e.details["to"]) for e in reversed(changes)] == [
        (bob.id, "admin"), (me, "user"),
    ]  # fmt: skip
    assert {e.actor_id for e in changes} == {me}


def test_deactivate_signs_the_user_out_and_reactivate_lets_them_back(
    ctx: Context,
    root: Operator,
    make_user: Callable[..., users.User],
    principal_for: PrincipalFor,
) -> None:
    bob = make_user("bob@example.com")
    session = principal_for(bob).session
    admin.set_active(ctx, root.principal, bob.id, False, ORIGIN)
    with pytest.raises(Unauthenticated):
        sessions.resolve(ctx, session.id)
    with pytest.raises(InvalidCredentials):
        login.login(ctx, bob.email, PASSWORD, ORIGIN)
    admin.set_active(ctx, root.principal, bob.id, True, ORIGIN)
    assert isinstance(login.login(ctx, bob.email, PASSWORD, ORIGIN), sessions.IssuedSession)
    (off,) = admin_events(ctx, "admin.user_deactivated")
    assert off.details == {"was_active": True, "sessions_revoked": 1}
    assert off.actor_id == root.principal.user.id and off.user_id == bob.id


def test_revoke_sessions_ends_every_session(
    ctx: Context, root: Operator, make_user: Callable[..., users.User], principal_for: PrincipalFor
) -> None:
    bob = make_user("bob@example.com")
    mine = [principal_for(bob).session.id for _ in range(2)]
    assert admin.revoke_sessions(ctx, root.principal, bob.id, ORIGIN) == 2
    for session_id in mine:
        with pytest.raises(Unauthenticated):
            sessions.resolve(ctx, session_id)
    (event,) = admin_events(ctx, "admin.sessions_revoked")
    assert (event.actor_id, event.user_id, event.details) == (
        root.principal.user.id, bob.id, {"count": 2},
    )  # fmt: skip


def test_audit_log_filters_and_pages(
    ctx: Context, root: Operator, enrolled: Enrolled, clock: ManualClock
) -> None:
    start = clock.now()
    for _ in range(3):
        clock.advance(1)
        with pytest.raises(InvalidCode):
            sign_in(ctx, enrolled.user.email, "000000")
    op = root.principal
    failures = admin.audit_log(ctx, op, event="login.factor", outcome="failure")
    assert failures.total == 3 and all(e.user_id == enrolled.user.id for e in failures.items)
    page = admin.audit_log(ctx, op, user_id=enrolled.user.id, since=start, per_page=2, page=2)
    assert page.total == 9 and len(page.items) == 2  # password, challenge, factor x 3
    until = admin.audit_log(ctx, op, user_id=enrolled.user.id, until=start)
    assert until.total and all(e.at < start for e in until.items)
    with pytest.raises(InvalidInput):
        admin.audit_log(ctx, op, page=0)


def test_two_admins_demoting_each_other_at_once_leave_one_admin(
    ctx: Context,
    root: Operator,
    clock: ManualClock,
    make_user: Callable[..., users.User],
    principal_for: PrincipalFor,
) -> None:
    other = make_admin(ctx, clock, make_user("ops@example.com", role="admin"), principal_for)
    pairs = [(root.principal, other.principal), (other.principal, root.principal)]

    def demote(actor: sessions.Principal, target: sessions.Principal) -> Callable[[], object]:
        return lambda: admin.set_role(ctx, actor, target.user.id, "user", ORIGIN)

    outcomes = named(together([demote(*pair) for pair in pairs]))
    assert sorted(outcomes) == ["Forbidden", "ok"]
    with ctx.db.transaction(readonly=True) as tx:
        assert len(users.active_admin_ids(tx)) == 1
