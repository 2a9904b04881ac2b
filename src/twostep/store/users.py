"""User accounts: create, look up, change, and list with their 2FA status.

Emails are stored exactly as given; the caller (the accounts service) normalises them first,
and the unique constraint on ``users.email`` then makes "one account per address" hold even
under concurrent registrations: :func:`create` returns ``None`` instead of raising.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, Row, exists, func, select, update
from sqlalchemy.exc import IntegrityError

from twostep.store._sql import insert_for, new_id
from twostep.store.db import Tx
from twostep.store.tables import totp_devices, users

__all__ = [
    "Role",
    "User",
    "UserSummary",
    "bump_token_version",
    "count_users",
    "create",
    "delete",
    "get",
    "get_by_email",
    "list_users",
    "set_active",
    "set_email",
    "set_email_verified",
    "set_password_hash",
    "set_role",
]

Role = Literal["user", "admin"]


@dataclass(frozen=True, slots=True)
class User:
    """One account, as stored."""

    id: str
    email: str
    password_hash: str
    email_verified_at: datetime | None
    role: Role
    is_active: bool
    token_version: int
    created_at: datetime
    two_factor_reset_at: datetime | None = None
    """When an administrator reset the user's 2FA; set until they enrol a new device."""

    @property
    def must_enroll(self) -> bool:
        """The next sign-in may only enrol a factor (an administrator reset 2FA)."""
        return self.two_factor_reset_at is not None


@dataclass(frozen=True, slots=True)
class UserSummary:
    """A row of the admin user list: the account without its hash, plus its 2FA status."""

    id: str
    email: str
    email_verified_at: datetime | None
    role: Role
    is_active: bool
    created_at: datetime
    active_devices: int

    @property
    def has_2fa(self) -> bool:
        """2FA is on when at least one device has been confirmed."""
        return self.active_devices > 0


def _user(row: Row[Any]) -> User:
    return User(**row._mapping)


def create(
    tx: Tx,
    *,
    email: str,
    password_hash: str,
    at: datetime,
    role: Role = "user",
    is_active: bool = True,
    email_verified_at: datetime | None = None,
    user_id: str | None = None,
) -> User | None:
    """Insert an account; ``None`` when the (normalised) email is already taken.

    Uses ``INSERT … ON CONFLICT DO NOTHING``, so a lost race neither raises nor aborts the
    surrounding PostgreSQL transaction.
    """
    stmt = (
        insert_for(tx, users)
        .values(
            id=user_id or new_id(),
            email=email,
            password_hash=password_hash,
            email_verified_at=email_verified_at,
            role=role,
            is_active=is_active,
            token_version=0,
            created_at=at,
        )
        .on_conflict_do_nothing(index_elements=["email"])
        .returning(*users.c)
    )
    row = tx.execute(stmt).first()
    return None if row is None else _user(row)


def get(tx: Tx, user_id: str, *, for_update: bool = False) -> User | None:
    """The account with this id; ``for_update`` also locks the row until ``tx`` ends.

    The lock (``SELECT … FOR UPDATE``) serialises concurrent changes to one user's factors on
    PostgreSQL; SQLite needs none, each write transaction holding the database write lock.
    """
    stmt = select(users).where(users.c.id == user_id)
    if for_update:
        stmt = stmt.with_for_update()
    row = tx.execute(stmt).first()
    return None if row is None else _user(row)


def get_by_email(tx: Tx, email: str) -> User | None:
    """The account with this normalised email."""
    row = tx.execute(select(users).where(users.c.email == email)).first()
    return None if row is None else _user(row)


def _set(tx: Tx, user_id: str, **values: Any) -> bool:
    result = tx.execute(update(users).where(users.c.id == user_id).values(**values))
    return result.rowcount == 1


def set_password_hash(tx: Tx, user_id: str, password_hash: str) -> bool:
    """Store a new password hash; False when the user does not exist."""
    return _set(tx, user_id, password_hash=password_hash)


def set_email_verified(tx: Tx, user_id: str, at: datetime | None) -> bool:
    """Mark the email verified at ``at`` (or unverified with ``None``)."""
    return _set(tx, user_id, email_verified_at=at)


def set_two_factor_reset(tx: Tx, user_id: str, at: datetime | None) -> bool:
    """Mark (``at``) or clear (``None``) an administrator's reset of the user's 2FA."""
    return _set(tx, user_id, two_factor_reset_at=at)


def set_role(tx: Tx, user_id: str, role: Role) -> bool:
    """Promote or demote."""
    return _set(tx, user_id, role=role)


def set_active(tx: Tx, user_id: str, is_active: bool) -> bool:
    """Deactivate or reactivate an account."""
    return _set(tx, user_id, is_active=is_active)


def set_email(tx: Tx, user_id: str, email: str, *, verified_at: datetime | None = None) -> bool:
    """Change the email; False when the user is missing or the address is taken.

    Runs in a savepoint so a unique-constraint clash leaves the caller's transaction usable.
    """
    try:
        with tx.begin_nested():
            return _set(tx, user_id, email=email, email_verified_at=verified_at)
    except IntegrityError:
        return False


def bump_token_version(tx: Tx, user_id: str) -> int | None:
    """Increment ``token_version`` (revoking every token of the user); the new value."""
    stmt = (
        update(users)
        .where(users.c.id == user_id)
        .values(token_version=users.c.token_version + 1)
        .returning(users.c.token_version)
    )
    return tx.execute(stmt).scalar_one_or_none()


def delete(tx: Tx, user_id: str) -> bool:
    """Delete an account and, by cascade, everything it owns (audit rows stay)."""
    return tx.execute(users.delete().where(users.c.id == user_id)).rowcount == 1


def _active_devices() -> ColumnElement[int]:
    return (
        select(func.count())
        .where(totp_devices.c.user_id == users.c.id, totp_devices.c.status == "active")
        .scalar_subquery()
    )


def _filters(
    query: str | None,
    role: Role | None,
    is_active: bool | None,
    verified: bool | None,
    has_2fa: bool | None,
) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if query:
        where.append(users.c.email.contains(query.lower(), autoescape=True))
    if role is not None:
        where.append(users.c.role == role)
    if is_active is not None:
        where.append(users.c.is_active.is_(is_active))
    if verified is not None:
        where.append(
            users.c.email_verified_at.is_not(None)
            if verified
            else users.c.email_verified_at.is_(None)
        )
    if has_2fa is not None:
        enrolled = exists().where(
            totp_devices.c.user_id == users.c.id, totp_devices.c.status == "active"
        )
        where.append(enrolled if has_2fa else ~enrolled)
    return where


def list_users(
    tx: Tx,
    *,
    query: str | None = None,
    role: Role | None = None,
    is_active: bool | None = None,
    verified: bool | None = None,
    has_2fa: bool | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[UserSummary]:
    """A page of accounts, oldest first, with their active device count, in one statement.

    ``query`` matches a substring of the email (``%`` and ``_`` are literal).
    """
    stmt = (
        select(
            users.c.id,
            users.c.email,
            users.c.email_verified_at,
            users.c.role,
            users.c.is_active,
            users.c.created_at,
            _active_devices().label("active_devices"),
        )
        .where(*_filters(query, role, is_active, verified, has_2fa))
        .order_by(users.c.created_at, users.c.id)
        .limit(limit)
        .offset(offset)
    )
    return [UserSummary(**row._mapping) for row in tx.execute(stmt)]


def count_users(
    tx: Tx,
    *,
    query: str | None = None,
    role: Role | None = None,
    is_active: bool | None = None,
    verified: bool | None = None,
    has_2fa: bool | None = None,
) -> int:
    """How many accounts match the same filters as :func:`list_users`."""
    stmt = (
        select(func.count())
        .select_from(users)
        .where(*_filters(query, role, is_active, verified, has_2fa))
    )
    return int(tx.execute(stmt).scalar_one())
