"""Second-factor challenges: the short-lived state between "password ok" and "code ok".

A challenge bounds guessing by itself: :func:`register_attempt` increments ``attempts``
atomically in the database and returns the new count, so concurrent guesses are all
counted; :func:`complete` succeeds once, and only before ``expires_at``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, bindparam, select, update

from twostep.store._sql import clip, delete_where, new_id
from twostep.store.db import Tx
from twostep.store.tables import challenges

__all__ = [
    "Challenge",
    "complete",
    "create",
    "delete_expired",
    "get",
    "open_for_session",
    "open_for_user",
    "register_attempt",
]


@dataclass(frozen=True, slots=True)
class Challenge:
    """A pending second-factor step. ``amr`` lists the factors already passed (e.g. pwd)."""

    id: str
    user_id: str
    purpose: str
    methods: tuple[str, ...]
    amr: tuple[str, ...]
    session_id: str | None
    created_at: datetime
    expires_at: datetime
    attempts: int
    ip: str | None
    user_agent: str | None
    completed_at: datetime | None

    def is_open(self, at: datetime) -> bool:
        """Not completed and not expired at ``at``."""
        return self.completed_at is None and at < self.expires_at


def _challenge(values: Mapping[Any, Any]) -> Challenge:
    return Challenge(**{**values, "methods": tuple(values["methods"]), "amr": tuple(values["amr"])})


def create(
    tx: Tx,
    *,
    user_id: str,
    purpose: str,
    methods: Sequence[str],
    at: datetime,
    expires_at: datetime,
    amr: Sequence[str] = (),
    session_id: str | None = None,
    ip: str | None = None,
    user_agent: str | None = None,
) -> Challenge:
    """Open a challenge; ``purpose`` names the flow that answers it (``"login"`` today).

    ``session_id`` binds a challenge to the session that asked for it, for a step-up by a
    factor that needs a server challenge (a security key); a login challenge has none.
    """
    values: dict[str, Any] = {
        "id": new_id(),
        "user_id": user_id,
        "purpose": purpose,
        "methods": list(methods),
        "amr": list(amr),
        "session_id": session_id,
        "created_at": at,
        "expires_at": expires_at,
        "attempts": 0,
        "ip": clip(ip, 64),
        "user_agent": clip(user_agent, 512),
        "completed_at": None,
    }
    tx.execute(_INSERT, values)
    return _challenge(values)


def get(tx: Tx, challenge_id: str) -> Challenge | None:
    """The challenge with this id, open or not."""
    row = tx.execute(select(challenges).where(challenges.c.id == challenge_id)).first()
    return None if row is None else _challenge(row._mapping)


def open_for_session(tx: Tx, session_id: str, purpose: str, at: datetime) -> list[Challenge]:
    """The session's open challenges for ``purpose``, newest first (a security-key ceremony)."""
    return _open(tx, challenges.c.session_id == session_id, purpose, at)


def open_for_user(tx: Tx, user_id: str, purpose: str, at: datetime) -> list[Challenge]:
    """The user's open challenges for ``purpose`` that no session owns (a reset by key)."""
    owned = challenges.c.session_id.is_(None)
    return _open(tx, (challenges.c.user_id == user_id) & owned, purpose, at)


def _open(tx: Tx, whose: ColumnElement[bool], purpose: str, at: datetime) -> list[Challenge]:
    stmt = (
        select(challenges)
        .where(
            whose,
            challenges.c.purpose == purpose,
            challenges.c.completed_at.is_(None),
            challenges.c.expires_at > at,
        )
        .order_by(challenges.c.created_at.desc(), challenges.c.id)
        .limit(10)
    )
    return [_challenge(row._mapping) for row in tx.execute(stmt)]


_INSERT = challenges.insert()
_ATTEMPT = (
    update(challenges)
    .where(challenges.c.id == bindparam("challenge_id"), challenges.c.completed_at.is_(None))
    .values(attempts=challenges.c.attempts + 1)
    .returning(*challenges.c)
)


def register_attempt(tx: Tx, challenge_id: str) -> Challenge | None:
    """Count one attempt atomically; the challenge as it now stands (its ``attempts`` the new
    count), or ``None`` if it is missing or completed. One statement: the attempt is counted
    and the challenge read together."""
    row = tx.execute(_ATTEMPT, {"challenge_id": challenge_id}).first()
    return None if row is None else _challenge(row._mapping)


def complete(tx: Tx, challenge_id: str, at: datetime) -> bool:
    """Close the challenge: True exactly once, and only while it has not expired."""
    return tx.execute(_COMPLETE, {"challenge_id": challenge_id, "at": at}).rowcount == 1


_COMPLETE = (
    update(challenges)
    .where(
        challenges.c.id == bindparam("challenge_id"),
        challenges.c.completed_at.is_(None),
        challenges.c.expires_at > bindparam("at", type_=challenges.c.expires_at.type),
    )
    .values(completed_at=bindparam("at"))
)


def delete_expired(tx: Tx, before: datetime, *, limit: int | None = None) -> int:
    """Housekeeping: drop challenges that expired before ``before`` (at most ``limit``)."""
    return delete_where(tx, challenges, challenges.c.expires_at < before, limit)
