"""User accounts: create, look up, change; the active administrators; emails for ids.

Emails are stored exactly as given; the caller (the accounts service) normalises them first,
and the unique constraint on ``users.email`` then makes "one account per address" hold even
under concurrent registrations: :func:`create` returns ``None`` instead of raising.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Row, bindparam, select, update
from sqlalchemy.exc import IntegrityError

from twostep.store._sql import insert_for, new_id
from twostep.store.db import Tx
from twostep.store.tables import users

__all__ = [
    "Role",
    "User",
    "active_admin_ids",
    "bump_token_version",
    "create",
    "delete",
    "emails_by_id",
    "get",
    "get_by_email",
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
    row = tx.execute(_BY_ID_FOR_UPDATE if for_update else _BY_ID, {"user_id": user_id}).first()
    return None if row is None else _user(row)


def get_by_email(tx: Tx, email: str) -> User | None:
    """The account with this normalised email."""
    row = tx.execute(_BY_EMAIL, {"email": email}).first()
    return None if row is None else _user(row)


# Built once: every sign-in reads a user, and building a statement costs more than running it.
_BY_ID = select(users).where(users.c.id == bindparam("user_id"))
_BY_ID_FOR_UPDATE = _BY_ID.with_for_update()
_BY_EMAIL = select(users).where(users.c.email == bindparam("email"))


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


def active_admin_ids(tx: Tx, *, for_update: bool = False) -> list[str]:
    """The ids of the active administrators, in id order; ``for_update`` locks those rows.

    The rows are locked in id order, so two transactions that each demote or deactivate an
    administrator queue behind one another (without deadlock) and the second sees the
    first's change: the last active administrator cannot be removed by a race.
    """
    stmt = (
        select(users.c.id)
        .where(users.c.role == "admin", users.c.is_active.is_(True))
        .order_by(users.c.id)
    )
    if for_update:
        stmt = stmt.with_for_update()
    return list(tx.execute(stmt).scalars())


def emails_by_id(tx: Tx, user_ids: Collection[str]) -> dict[str, str]:
    """``{id: email}`` for the accounts among ``user_ids`` that exist, in one statement."""
    if not user_ids:
        return {}
    stmt = select(users.c.id, users.c.email).where(users.c.id.in_(sorted(user_ids)))
    return {row.id: row.email for row in tx.execute(stmt)}
