"""Email one-time codes: one live code per (email, purpose), hashed, attempt-limited.

:func:`issue` is an upsert on the ``(email, purpose)`` unique key, so a resend *replaces*
the previous code in one atomic statement (DESIGN §4.10): two concurrent sends still leave
exactly one valid code. ``created_at`` of the row is the time of the last send, which is
what a resend cooldown needs. :func:`consume` succeeds once, and only before expiry.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, select, update

from twostep.store._sql import delete_where, insert_for, new_id
from twostep.store.db import Tx
from twostep.store.tables import email_codes

__all__ = ["EmailCode", "consume", "delete", "delete_expired", "get", "issue", "register_attempt"]


@dataclass(frozen=True, slots=True)
class EmailCode:
    """The current code for an address and purpose (``"verify"``, ``"signin"``, …)."""

    id: str
    email: str
    user_id: str | None
    purpose: str
    code_hash: str
    created_at: datetime
    expires_at: datetime
    attempts: int
    used_at: datetime | None

    def is_active(self, at: datetime) -> bool:
        """Unused and not expired at ``at``."""
        return self.used_at is None and at < self.expires_at


def _code(row: Row[Any]) -> EmailCode:
    return EmailCode(**row._mapping)


def issue(
    tx: Tx,
    *,
    email: str,
    purpose: str,
    code_hash: str,
    at: datetime,
    expires_at: datetime,
    user_id: str | None = None,
) -> EmailCode:
    """Store a new code for (email, purpose), replacing any previous one atomically.

    The row gets a fresh id, zero attempts and no ``used_at``, so the old code is dead.
    """
    values: dict[str, Any] = {
        "id": new_id(),
        "email": email,
        "user_id": user_id,
        "purpose": purpose,
        "code_hash": code_hash,
        "created_at": at,
        "expires_at": expires_at,
        "attempts": 0,
        "used_at": None,
    }
    stmt = insert_for(tx, email_codes).values(**values)
    stmt = stmt.on_conflict_do_update(
        index_elements=["email", "purpose"],
        set_={k: stmt.excluded[k] for k in values if k not in ("email", "purpose")},
    ).returning(*email_codes.c)
    return _code(tx.execute(stmt).one())


def get(tx: Tx, email: str, purpose: str) -> EmailCode | None:
    """The latest code for (email, purpose), live or not (for cooldowns and verification)."""
    stmt = select(email_codes).where(email_codes.c.email == email, email_codes.c.purpose == purpose)
    row = tx.execute(stmt).first()
    return None if row is None else _code(row)


def register_attempt(tx: Tx, code_id: str) -> int | None:
    """Count one verification attempt atomically; the new count, or ``None`` if gone/used."""
    stmt = (
        update(email_codes)
        .where(email_codes.c.id == code_id, email_codes.c.used_at.is_(None))
        .values(attempts=email_codes.c.attempts + 1)
        .returning(email_codes.c.attempts)
    )
    return tx.execute(stmt).scalar_one_or_none()


def consume(tx: Tx, code_id: str, at: datetime) -> bool:
    """Mark the code used: True exactly once, and only before it expires.

    The caller compares the hash (``hmac.compare_digest``) before consuming; the id pins the
    exact code that was checked, so a resend in between makes this return False.
    """
    stmt = (
        update(email_codes)
        .where(
            email_codes.c.id == code_id,
            email_codes.c.used_at.is_(None),
            email_codes.c.expires_at > at,
        )
        .values(used_at=at)
    )
    return tx.execute(stmt).rowcount == 1


def delete(tx: Tx, email: str, purpose: str) -> bool:
    """Forget the code for (email, purpose)."""
    stmt = email_codes.delete().where(
        email_codes.c.email == email, email_codes.c.purpose == purpose
    )
    return tx.execute(stmt).rowcount == 1


def delete_expired(tx: Tx, before: datetime, *, limit: int | None = None) -> int:
    """Housekeeping: drop codes that expired before ``before`` (at most ``limit``)."""
    return delete_where(tx, email_codes, email_codes.c.expires_at < before, limit)
