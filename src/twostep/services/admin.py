"""Operators: see users' 2FA status and the audit log, unlock, reset, promote, deactivate.

Invariants:

* only an active account with role ``admin`` gets in (else :class:`Forbidden`, and an action
  also leaves a ``denied`` audit row); every *action* needs the admin's own session
  elevated (DESIGN §4.7), reads do not;
* every action writes one audit row in the transaction of its change, ``actor_id`` the admin and
  ``user_id`` the target; no row holds a code, secret or token;
* there is always an active admin: demoting or deactivating the last one is refused. The
  check locks every active admin row first, so two admins demoting each other at once
  cannot both succeed;
* revoking a user's sessions (reset, deactivate, revoke) also bumps ``token_version``, which
  revokes every token issued to them;
* listings are a constant number of statements per page, whatever the page size;
* an admin cannot lock themselves out through these actions: resetting their own 2FA,
  revoking their own sessions or deactivating themselves is refused
  (:class:`SelfTargeted`); they use their own account pages, which ask for what those ask.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from twostep.errors import Forbidden, InvalidInput, NotFound
from twostep.mail import EventContext
from twostep.services import audit, lockout, remembered, sessions
from twostep.services.backup_codes import BackupStatus
from twostep.services.context import Context, Origin
from twostep.services.devices import DeviceInfo, all_factors, lock_user
from twostep.services.identity import email_hash
from twostep.store import Tx, backup_codes, devices, throttles, user_listing, users
from twostep.store import audit as audit_store
from twostep.store import sessions as session_store
from twostep.store import webauthn as webauthn_store

T = TypeVar("T")
TwoFactorFilter = user_listing.TwoFactorFilter
UserSort = user_listing.UserSort
USER_SORTS = user_listing.USER_SORTS
UserSummary = user_listing.UserSummary
AuditEvent = audit_store.AuditEvent
Role = users.Role
MAX_PER_PAGE = 200
RECENT_EVENTS = 20


class SelfTargeted(Forbidden):
    """An admin action aimed at the admin's own account that would lock them out."""

    code = "SELF_TARGETED"
    default_message = "Use your own account pages to change your own account."


def _refuse_self(admin: sessions.Principal, user_id: str, what: str) -> None:
    if user_id == admin.user.id:
        raise SelfTargeted(f"You cannot {what} through the admin console; use your account.")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a listing, with the total across all pages."""

    items: list[T]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """A live session, without its refresh-token hash."""

    id: str
    purpose: str
    amr: tuple[str, ...]
    created_at: datetime
    last_seen_at: datetime | None
    expires_at: datetime
    elevated_until: datetime | None
    ip: str | None
    user_agent: str | None

    @classmethod
    def of(cls, s: session_store.UserSession) -> SessionInfo:
        return cls(
            s.id, s.purpose, s.amr, s.created_at, s.last_seen_at, s.expires_at,
            s.elevated_until, s.ip, s.user_agent,
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class UserDetail:
    """Everything an operator needs to help one user."""

    account: UserSummary
    devices: list[DeviceInfo]
    backup: BackupStatus
    sessions: list[SessionInfo]
    recent_events: list[AuditEvent]
    factor_failures: int


def _authorize(
    ctx: Context, admin: sessions.Principal, at: datetime, *, action: str | None = None,
    origin: Origin | None = None, target: str | None = None,
) -> None:  # fmt: skip
    """Admins only; an ``action`` also needs the admin's session elevated."""
    sessions.require_full(admin)
    if admin.user.role != "admin" or not admin.user.is_active:
        if action is not None and origin is not None:
            with ctx.db.transaction() as tx:
                audit.record(
                    tx, "admin.denied", "denied", at=at, origin=origin, user_id=target,
                    actor_id=admin.user.id, details={"action": action},
                )  # fmt: skip
        raise Forbidden()
    if action is not None:
        sessions.require_elevated(admin, at)


def _paging(page: int, per_page: int) -> tuple[int, int]:
    if page < 1:
        raise InvalidInput("page", "Pages are numbered from 1.")
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise InvalidInput("per_page", f"Ask for 1 to {MAX_PER_PAGE} rows per page.")
    return per_page, (page - 1) * per_page


def list_users(
    ctx: Context,
    admin: sessions.Principal,
    *,
    query: str | None = None,
    two_factor: TwoFactorFilter | None = None,
    sort: UserSort = "created",
    page: int = 1,
    per_page: int = 50,
) -> Page[UserSummary]:
    """Accounts filtered by an email substring and by 2FA or lock state, sorted by ``sort``.

    ``created`` is oldest first, ``newest`` the reverse, ``email`` alphabetical,
    ``last_sign_in`` the most recent sign-in first and ``idle`` the longest since one
    (never signed in first). Two statements per page: the rows (active device count,
    current OTP lock and last sign-in joined in) and the total.
    """
    at = ctx.clock.now()
    _authorize(ctx, admin, at)
    if two_factor is not None and two_factor not in user_listing.TWO_FACTOR_FILTERS:
        raise InvalidInput("two_factor", "Filter on enabled, disabled or locked.")
    if sort not in USER_SORTS:
        raise InvalidInput("sort", "Sort by created, newest, email, last_sign_in or idle.")
    limit, offset = _paging(page, per_page)
    text = (query or "").strip() or None
    prefix = lockout.otp_key("")  # followed by a user id, the key of their OTP lock
    with ctx.db.transaction(readonly=True) as tx:
        items = user_listing.list_users(
            tx, at=at, lock_key_prefix=prefix, query=text, two_factor=two_factor, sort=sort,
            limit=limit, offset=offset,
        )  # fmt: skip
        count = user_listing.count_users(
            tx, at=at, lock_key_prefix=prefix, query=text, two_factor=two_factor
        )
    return Page(items, count, page, per_page)


def user_detail(ctx: Context, admin: sessions.Principal, user_id: str) -> UserDetail:
    """One account with its devices, backup codes, live sessions, lock and recent events."""
    at = ctx.clock.now()
    _authorize(ctx, admin, at)
    with ctx.db.transaction(readonly=True) as tx:
        user = users.get(tx, user_id)
        if user is None:
            raise NotFound("No such account.")
        found = all_factors(tx, user_id)  # apps and security keys
        backup = backup_codes.status(tx, user_id)
        live = session_store.list_active_for_user(tx, user_id, at)
        events = audit_store.query(tx, user_id=user_id, limit=RECENT_EVENTS)
        state = throttles.get(tx, lockout.otp_key(user_id))
    locked = state is not None and state.is_locked(at)
    account = UserSummary(
        user.id, user.email, user.email_verified_at, user.role, user.is_active, user.created_at,
        sum(device.status == "active" for device in found),
        state.locked_until if state is not None and locked else None,
    )  # fmt: skip
    return UserDetail(
        account=account,
        devices=found,
        backup=backup,
        sessions=[SessionInfo.of(s) for s in live],
        recent_events=events,
        factor_failures=state.failures if state is not None else 0,
    )


def _target(tx: Tx, user_id: str, *, keep_admin: str | None = None) -> users.User:
    """The target's row, locked; with ``keep_admin``, refused if it is the last active admin.

    Every active admin row is locked first, in id order, so concurrent demotions serialise
    instead of each seeing another admin left.
    """
    admins: list[str] = []
    if keep_admin is not None:
        admins = users.active_admin_ids(tx, for_update=True)
    user = lock_user(tx, user_id)
    if user is None:
        raise NotFound("No such account.")
    if admins == [user.id]:
        raise Forbidden(f"{user.email} is the last administrator and cannot be {keep_admin}.")
    return user


def _revoke_everything(tx: Tx, user_id: str, at: datetime) -> int:
    count = session_store.revoke_all_for_user(tx, user_id, at)
    users.bump_token_version(tx, user_id)
    return count


def _record(
    tx: Tx, event: str, admin: sessions.Principal, user_id: str, at: datetime, origin: Origin,
    details: dict[str, object],
) -> None:  # fmt: skip
    actor = admin.user.id
    audit.record(tx, event, "success", at=at, origin=origin, user_id=user_id, actor_id=actor,
                 details=details)  # fmt: skip


def reset_two_factor(ctx: Context, admin: sessions.Principal, user_id: str, origin: Origin) -> None:
    """Remove a user's devices and backup codes and sign them out; they are told by email.

    Their next sign-in opens an enrolment-only session (the user is marked with
    ``two_factor_reset_at`` until a new device is confirmed), so a reset leads to a new
    authenticator rather than to an account without 2FA. The OTP lock is lifted too, so they
    can enrol again at once.
    """
    at = ctx.clock.now()
    _authorize(ctx, admin, at, action="reset_two_factor", origin=origin, target=user_id)
    _refuse_self(admin, user_id, "reset your own two-step verification")
    with ctx.db.transaction() as tx:
        user = _target(tx, user_id)
        removed = devices.delete_all_for_user(tx, user_id)
        removed += webauthn_store.delete_all_for_user(tx, user_id)  # security keys too
        remembered.forget_all_in(tx, user_id, at, origin, reason="admin_reset")
        dropped = backup_codes.delete_all(tx, user_id)
        users.set_two_factor_reset(tx, user_id, at)  # the next sign-in leads to enrolment
        throttles.unlock(tx, lockout.otp_key(user_id), at)
        revoked = _revoke_everything(tx, user_id, at)
        _record(
            tx, "admin.two_factor_reset", admin, user_id, at, origin,
            {"devices_removed": removed, "backup_removed": dropped, "sessions_revoked": revoked},
        )  # fmt: skip
    # The admin's address and browser are theirs, not the user's: only the time is shown.
    ctx.send(ctx.messages.two_factor_reset_by_admin(user.email, event=EventContext(at=at)))


def unlock(ctx: Context, admin: sessions.Principal, user_id: str, origin: Origin) -> bool:
    """Lift the user's second-factor and password locks; True if either was locked."""
    at = ctx.clock.now()
    _authorize(ctx, admin, at, action="unlock", origin=origin, target=user_id)
    with ctx.db.transaction() as tx:
        user = _target(tx, user_id)
        keys = (
            lockout.otp_key(user_id),
            lockout.password_key(email_hash(ctx.keyring.pepper, user.email)),
        )
        states = [throttles.get(tx, key) for key in keys]
        was_locked = [state is not None and state.is_locked(at) for state in states]
        for key in keys:
            throttles.unlock(tx, key, at)
        _record(
            tx, "admin.unlocked", admin, user_id, at, origin,
            {"factor_lock_lifted": was_locked[0], "sign_in_lock_lifted": was_locked[1]},
        )  # fmt: skip
    return any(was_locked)


def set_role(
    ctx: Context, admin: sessions.Principal, user_id: str, role: users.Role, origin: Origin
) -> None:
    """Promote to ``admin`` or demote to ``user``; the last active admin stays one."""
    at = ctx.clock.now()
    _authorize(ctx, admin, at, action="set_role", origin=origin, target=user_id)
    if role not in ("user", "admin"):
        raise InvalidInput("role", "The role is user or admin.")
    with ctx.db.transaction() as tx:
        user = _target(tx, user_id, keep_admin=None if role == "admin" else "demoted")
        users.set_role(tx, user_id, role)
        _record(
            tx, "admin.role_changed", admin, user_id, at, origin,
            {"from": user.role, "to": role},
        )  # fmt: skip


def set_active(
    ctx: Context, admin: sessions.Principal, user_id: str, active: bool, origin: Origin
) -> None:
    """Reactivate, or deactivate and sign out; an admin cannot deactivate themselves."""
    at = ctx.clock.now()
    _authorize(ctx, admin, at, action="set_active", origin=origin, target=user_id)
    if not active:
        _refuse_self(admin, user_id, "deactivate your own account")
    with ctx.db.transaction() as tx:
        user = _target(tx, user_id, keep_admin=None if active else "deactivated")
        users.set_active(tx, user_id, active)
        revoked = 0 if active else _revoke_everything(tx, user_id, at)
        event = "admin.user_activated" if active else "admin.user_deactivated"
        _record(
            tx, event, admin, user_id, at, origin,
            {"was_active": user.is_active, "sessions_revoked": revoked},
        )  # fmt: skip


def revoke_sessions(ctx: Context, admin: sessions.Principal, user_id: str, origin: Origin) -> int:
    """Sign the user out everywhere; how many live sessions ended."""
    at = ctx.clock.now()
    _authorize(ctx, admin, at, action="revoke_sessions", origin=origin, target=user_id)
    _refuse_self(admin, user_id, "sign yourself out everywhere")
    with ctx.db.transaction() as tx:
        _target(tx, user_id)
        revoked = _revoke_everything(tx, user_id, at)
        _record(tx, "admin.sessions_revoked", admin, user_id, at, origin, {"count": revoked})
    return revoked


def audit_log(
    ctx: Context,
    admin: sessions.Principal,
    *,
    event: str | None = None,
    user_id: str | None = None,
    outcome: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    page: int = 1,
    per_page: int = 50,
) -> Page[AuditEvent]:
    """Audit events, newest first; ``since`` inclusive, ``until`` exclusive."""
    _authorize(ctx, admin, ctx.clock.now())
    limit, offset = _paging(page, per_page)
    with ctx.db.transaction(readonly=True) as tx:
        items = audit_store.query(
            tx, event=event, user_id=user_id, outcome=outcome, since=since, until=until,
            limit=limit, offset=offset,
        )  # fmt: skip
        total = audit_store.count(
            tx, event=event, user_id=user_id, outcome=outcome, since=since, until=until
        )
    return Page(items, total, page, per_page)
