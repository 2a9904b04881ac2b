"""The operators' list of accounts: filtered, sorted and paged, with 2FA and lock state.

A page is two statements whatever its size: :func:`list_users` reads the rows with the
active device count, the current second-factor lock and the last sign-in joined in, and
:func:`count_users` the total over the same filters. Throttle keys belong to the services,
so the caller names the prefix that, followed by a user id, keys that user's lock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import (
    ColumnElement,
    FromClause,
    String,
    and_,
    case,
    exists,
    func,
    literal,
    or_,
    select,
)

from twostep.store.audit import last_at
from twostep.store.db import Tx
from twostep.store.tables import throttles, totp_devices, users, webauthn_credentials
from twostep.store.users import Role

__all__ = [
    "TWO_FACTOR_FILTERS",
    "USER_SORTS",
    "TwoFactorFilter",
    "UserSort",
    "UserSummary",
    "count_users",
    "list_users",
]

TwoFactorFilter = Literal["enabled", "disabled", "locked"]
UserSort = Literal["created", "newest", "email", "last_sign_in", "idle"]
TWO_FACTOR_FILTERS: tuple[TwoFactorFilter, ...] = ("enabled", "disabled", "locked")
USER_SORTS: tuple[UserSort, ...] = ("created", "newest", "email", "last_sign_in", "idle")


@dataclass(frozen=True, slots=True)
class UserSummary:
    """An account as an operator sees it: no password hash; 2FA and lock state."""

    id: str
    email: str
    email_verified_at: datetime | None
    role: Role
    is_active: bool
    created_at: datetime
    active_devices: int
    locked_until: datetime | None
    last_sign_in: datetime | None = None

    @property
    def two_factor_enabled(self) -> bool:
        """2FA is on while at least one device is active."""
        return self.active_devices > 0

    @property
    def locked(self) -> bool:
        """Locked out of second-factor checks when the summary was read."""
        return self.locked_until is not None


def _with_lock(at: datetime, lock_key_prefix: str) -> FromClause:
    """Users outer-joined to their throttle row while it is locked at ``at``.

    The throttle key is the primary key, so the join never repeats a user.
    """
    t, u = throttles.c, users.c
    key = literal(lock_key_prefix, String()).concat(u.id)
    return users.outerjoin(throttles, and_(t.key == key, t.locked_until > at))


def _where(query: str | None, two_factor: TwoFactorFilter | None) -> list[ColumnElement[bool]]:
    u, d = users.c, totp_devices.c
    where: list[ColumnElement[bool]] = []
    if query:
        where.append(u.email.contains(query.lower(), autoescape=True))
    keys = webauthn_credentials.c
    enrolled = or_(
        exists().where(d.user_id == u.id, d.status == "active"),
        exists().where(keys.user_id == u.id),  # a security key is a factor too
    )
    if two_factor == "enabled":
        where.append(enrolled)
    elif two_factor == "disabled":
        where.append(~enrolled)
    elif two_factor == "locked":
        where.append(throttles.c.key.is_not(None))
    return where


def _order(sort: UserSort, last_sign_in: ColumnElement[Any]) -> list[ColumnElement[Any]]:
    """ORDER BY for ``sort``; the id last, so pages never overlap. NULLs sort the same on
    SQLite and PostgreSQL (never signed in: last for recent, first for idle)."""
    u = users.c
    never = case((last_sign_in.is_(None), 1), else_=0)
    orders: dict[UserSort, list[ColumnElement[Any]]] = {
        "created": [u.created_at, u.id],
        "newest": [u.created_at.desc(), u.id.desc()],
        "email": [u.email, u.id],
        "last_sign_in": [never, last_sign_in.desc(), u.id],
        "idle": [never.desc(), last_sign_in, u.id],
    }
    return orders[sort]


def list_users(
    tx: Tx,
    *,
    at: datetime,
    lock_key_prefix: str,
    query: str | None = None,
    two_factor: TwoFactorFilter | None = None,
    sort: UserSort = "created",
    limit: int = 50,
    offset: int = 0,
) -> list[UserSummary]:
    """A page of accounts in one statement.

    ``query`` matches a substring of the email, case-insensitively (``%`` and ``_`` are
    literal); ``two_factor`` keeps accounts with an active device, without one, or locked at
    ``at``. ``created`` is oldest first, ``newest`` the reverse, ``email`` alphabetical,
    ``last_sign_in`` the most recent sign-in first and ``idle`` the longest since one (never
    signed in first).
    """
    u, d = users.c, totp_devices.c
    apps = select(func.count()).where(d.user_id == u.id, d.status == "active")
    keys = select(func.count()).where(webauthn_credentials.c.user_id == u.id)
    active = apps.scalar_subquery() + keys.scalar_subquery()
    last_sign_in = last_at(u.id)
    stmt = (
        select(
            u.id,
            u.email,
            u.email_verified_at,
            u.role,
            u.is_active,
            u.created_at,
            active.label("active_devices"),
            throttles.c.locked_until,
            last_sign_in.label("last_sign_in"),
        )
        .select_from(_with_lock(at, lock_key_prefix))
        .where(*_where(query, two_factor))
        .order_by(*_order(sort, last_sign_in))
        .limit(limit)
        .offset(offset)
    )
    return [UserSummary(**row._mapping) for row in tx.execute(stmt)]


def count_users(
    tx: Tx,
    *,
    at: datetime,
    lock_key_prefix: str,
    query: str | None = None,
    two_factor: TwoFactorFilter | None = None,
) -> int:
    """How many accounts match the same filters as :func:`list_users`."""
    stmt = (
        select(func.count())
        .select_from(_with_lock(at, lock_key_prefix))
        .where(*_where(query, two_factor))
    )
    return int(tx.execute(stmt).scalar_one())
