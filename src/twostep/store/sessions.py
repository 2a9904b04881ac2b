"""Sign-in sessions: the server side of refresh tokens, logout and elevation.

A row is one sign-in. Its id is the ``sid`` claim of every access token it issues, so
revoking the row ends them all (introspection reads :func:`get_active`). The refresh token
is stored only as a hash and rotates on use via :func:`rotate_refresh`, a conditional
``UPDATE`` that succeeds for exactly one presenter of the current hash. ``family_id`` groups
sessions descended from one sign-in (by default a session is its own family) so that reuse
of a stale refresh token can revoke the whole family with :func:`revoke_family`.
``purpose`` is ``"full"`` or a limited scope such as ``"enroll"`` (MFA required, no device yet).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, bindparam, select, update
from sqlalchemy.sql.dml import ReturningUpdate

from twostep.store._sql import clip, delete_where, new_id
from twostep.store.db import Tx
from twostep.store.tables import sessions

__all__ = [
    "UserSession",
    "create",
    "delete_expired",
    "get",
    "get_active",
    "get_by_refresh_hash",
    "list_active_for_user",
    "revoke",
    "revoke_all_for_user",
    "revoke_family",
    "record_step_up",
    "rotate_refresh",
    "set_elevated_until",
    "set_purpose",
    "set_sso_hash",
    "touch",
]


@dataclass(frozen=True, slots=True)
class UserSession:
    """One sign-in of a user."""

    id: str
    user_id: str
    family_id: str
    refresh_hash: str
    purpose: str
    amr: tuple[str, ...]
    auth_time: datetime
    created_at: datetime
    expires_at: datetime
    last_seen_at: datetime | None
    revoked_at: datetime | None
    elevated_until: datetime | None
    ip: str | None
    user_agent: str | None
    second_factor_at: datetime | None = None
    channel: str = "api"
    sso_hash: str | None = None
    """Keyed hash of the single-sign-on cookie's token, when the browser was given one."""

    def is_active(self, at: datetime) -> bool:
        """Neither revoked nor expired at ``at``."""
        return self.revoked_at is None and at < self.expires_at

    def is_elevated(self, at: datetime) -> bool:
        """A fresh factor was given recently enough (DESIGN §4.7)."""
        return self.elevated_until is not None and at < self.elevated_until


def session_of(values: Mapping[Any, Any]) -> UserSession:
    """A :class:`UserSession` from a row of the ``sessions`` table."""
    return UserSession(**{**values, "amr": tuple(values["amr"])})


def _live(at: datetime) -> list[ColumnElement[bool]]:
    return [sessions.c.revoked_at.is_(None), sessions.c.expires_at > at]


def create(
    tx: Tx,
    *,
    user_id: str,
    refresh_hash: str,
    at: datetime,
    expires_at: datetime,
    amr: Sequence[str],
    auth_time: datetime | None = None,
    purpose: str = "full",
    family_id: str | None = None,
    elevated_until: datetime | None = None,
    ip: str | None = None,
    user_agent: str | None = None,
    session_id: str | None = None,
    second_factor_at: datetime | None = None,
    channel: str = "api",
) -> UserSession:
    """Start a session; ``auth_time`` defaults to ``at`` and ``family_id`` to its own id."""
    sid = session_id or new_id()
    values: dict[str, Any] = {
        "id": sid,
        "user_id": user_id,
        "family_id": family_id or sid,
        "refresh_hash": refresh_hash,
        "purpose": purpose,
        "amr": list(amr),
        "auth_time": auth_time or at,
        "created_at": at,
        "expires_at": expires_at,
        "last_seen_at": at,
        "revoked_at": None,
        "elevated_until": elevated_until,
        "ip": clip(ip, 64),
        "user_agent": clip(user_agent, 512),
        "second_factor_at": second_factor_at,
        "channel": channel,
        "sso_hash": None,
    }
    tx.execute(_INSERT, values)
    return session_of(values)


def get(tx: Tx, session_id: str) -> UserSession | None:
    """The session with this id, live or not."""
    row = tx.execute(select(sessions).where(sessions.c.id == session_id)).first()
    return None if row is None else session_of(row._mapping)


def get_active(tx: Tx, session_id: str, at: datetime) -> UserSession | None:
    """The session if it is neither revoked nor expired at ``at`` (introspection)."""
    stmt = select(sessions).where(sessions.c.id == session_id, *_live(at))
    row = tx.execute(stmt).first()
    return None if row is None else session_of(row._mapping)


def get_by_refresh_hash(tx: Tx, refresh_hash: str) -> UserSession | None:
    """The session whose *current* refresh token has this hash, live or not."""
    row = tx.execute(select(sessions).where(sessions.c.refresh_hash == refresh_hash)).first()
    return None if row is None else session_of(row._mapping)


def rotate_refresh(
    tx: Tx,
    *,
    old_hash: str,
    new_hash: str,
    at: datetime,
    expires_at: datetime | None = None,
) -> UserSession | None:
    """Swap the refresh hash of a live session; the updated session for exactly one caller.

    ``None`` means the old hash is not current (already rotated, revoked, expired or never
    issued). A service that finds such a hash on a known session should treat it as reuse
    and revoke the family. ``expires_at`` optionally slides the session's expiry.
    """
    values: dict[str, Any] = {"refresh_hash": new_hash, "last_seen_at": at}
    if expires_at is not None:
        values["expires_at"] = expires_at
    stmt = (
        update(sessions)
        .where(sessions.c.refresh_hash == old_hash, *_live(at))
        .values(**values)
        .returning(*sessions.c)
    )
    row = tx.execute(stmt).first()
    return None if row is None else session_of(row._mapping)


def touch(tx: Tx, session_id: str, at: datetime) -> bool:
    """Record activity on a live session."""
    return tx.execute(_TOUCH, {"session_id": session_id, "at": at}).rowcount == 1


_INSERT = sessions.insert()
_TOUCH = (
    update(sessions)
    .where(
        sessions.c.id == bindparam("session_id"),
        sessions.c.revoked_at.is_(None),
        sessions.c.expires_at > bindparam("at", type_=sessions.c.expires_at.type),
    )
    .values(last_seen_at=bindparam("at"))
)


def set_elevated_until(tx: Tx, session_id: str, until: datetime | None, at: datetime) -> bool:
    """Mark a live session elevated until ``until`` (``None`` drops the elevation)."""
    stmt = (
        update(sessions).where(sessions.c.id == session_id, *_live(at)).values(elevated_until=until)
    )
    return tx.execute(stmt).rowcount == 1


def record_step_up(
    tx: Tx,
    session_id: str,
    *,
    until: datetime,
    at: datetime,
    amr: Sequence[str],
    second_factor: bool,
) -> UserSession | None:
    """Elevate a live session after a step-up; the session as it now stands, or ``None``.

    ``amr`` is the session's methods with the step-up's added; ``second_factor`` says the
    step-up proved one, which moves ``second_factor_at`` to ``at``. One statement, so the
    token signed from the returned row says exactly what the database holds.
    """
    stmt = _STEP_UP_SECOND_FACTOR if second_factor else _STEP_UP
    params = {"session_id": session_id, "at": at, "until": until, "amr": list(amr)}
    row = tx.execute(stmt, params).first()
    return None if row is None else session_of(row._mapping)


def _step_up_statement(*, second_factor: bool) -> ReturningUpdate[Any]:
    values: dict[str, Any] = {"elevated_until": bindparam("until"), "amr": bindparam("amr")}
    if second_factor:
        values["second_factor_at"] = bindparam("at")
    return (
        update(sessions)
        .where(
            sessions.c.id == bindparam("session_id"),
            sessions.c.revoked_at.is_(None),
            sessions.c.expires_at > bindparam("at", type_=sessions.c.expires_at.type),
        )
        .values(**values)
        .returning(*sessions.c)
    )


_STEP_UP = _step_up_statement(second_factor=False)
_STEP_UP_SECOND_FACTOR = _step_up_statement(second_factor=True)


def set_sso_hash(tx: Tx, session_id: str, sso_hash: str, at: datetime) -> bool:
    """Give a live session a new single-sign-on token (its hash); the previous one ends."""
    stmt = update(sessions).where(sessions.c.id == session_id, *_live(at)).values(sso_hash=sso_hash)
    return tx.execute(stmt).rowcount == 1


def set_purpose(
    tx: Tx, session_id: str, purpose: str, at: datetime, *, amr: Sequence[str] | None = None
) -> bool:
    """Widen or narrow a live session (e.g. ``"enroll"`` to ``"full"`` after enrolling)."""
    values: dict[str, Any] = {"purpose": purpose}
    if amr is not None:
        values["amr"] = list(amr)
    stmt = update(sessions).where(sessions.c.id == session_id, *_live(at)).values(**values)
    return tx.execute(stmt).rowcount == 1


def revoke(tx: Tx, session_id: str, at: datetime, *, user_id: str | None = None) -> bool:
    """Revoke one session (optionally only if it is ``user_id``'s); True if it was live."""
    stmt = update(sessions).where(sessions.c.id == session_id, sessions.c.revoked_at.is_(None))
    if user_id is not None:
        stmt = stmt.where(sessions.c.user_id == user_id)
    return tx.execute(stmt.values(revoked_at=at)).rowcount == 1


def revoke_family(tx: Tx, family_id: str, at: datetime) -> int:
    """Revoke every session of a family (refresh-token reuse); how many were live."""
    stmt = (
        update(sessions)
        .where(sessions.c.family_id == family_id, sessions.c.revoked_at.is_(None))
        .values(revoked_at=at)
    )
    return tx.execute(stmt).rowcount


def revoke_all_for_user(
    tx: Tx, user_id: str, at: datetime, *, except_session_id: str | None = None
) -> int:
    """Revoke all the user's sessions, optionally keeping the current one; how many."""
    stmt = update(sessions).where(sessions.c.user_id == user_id, sessions.c.revoked_at.is_(None))
    if except_session_id is not None:
        stmt = stmt.where(sessions.c.id != except_session_id)
    return tx.execute(stmt.values(revoked_at=at)).rowcount


def list_active_for_user(tx: Tx, user_id: str, at: datetime) -> list[UserSession]:
    """The user's live sessions, newest first."""
    stmt = (
        select(sessions)
        .where(sessions.c.user_id == user_id, *_live(at))
        .order_by(sessions.c.created_at.desc(), sessions.c.id)
    )
    return [session_of(row._mapping) for row in tx.execute(stmt)]


def delete_expired(tx: Tx, before: datetime, *, limit: int | None = None) -> int:
    """Housekeeping: drop sessions that expired before ``before`` (at most ``limit``).

    Their challenges and retired refresh-token hashes go with them (``ON DELETE CASCADE``).
    """
    return delete_where(tx, sessions, sessions.c.expires_at < before, limit)
