"""The audit log: append-only rows written in the same transaction as the change they record.

Invariant (DESIGN §4.11): an audit row never holds a code, secret, token or password.
:func:`record` enforces the obvious part by refusing ``details`` keys that name such values,
so a careless ``details={"code": code}`` fails loudly in tests instead of leaking quietly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, ScalarSelect, func, select

from twostep.store._sql import clip, delete_where
from twostep.store.db import Tx
from twostep.store.tables import audit_events

__all__ = [
    "FORBIDDEN_DETAIL_KEYS",
    "AuditEvent",
    "count",
    "delete_before",
    "for_user",
    "last_at",
    "query",
    "record",
]

SIGN_IN = "session.created"
"""The row every sign-in leaves (password, code, reset link): a session was started."""

FORBIDDEN_DETAIL_KEYS = frozenset(
    {
        "access_token",
        "backup_code",
        "code",
        "current_password",
        "new_password",
        "otp",
        "password",
        "refresh_token",
        "secret",
        "token",
    }
)


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One recorded event. ``outcome`` is e.g. ``"success"``, ``"failure"``, ``"denied"``."""

    id: int
    at: datetime
    event: str
    outcome: str
    user_id: str | None = None
    actor_id: str | None = None
    ip: str | None = None
    user_agent: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)


_INSERT = audit_events.insert()


def record(
    tx: Tx,
    *,
    event: str,
    outcome: str,
    at: datetime,
    user_id: str | None = None,
    actor_id: str | None = None,
    ip: str | None = None,
    user_agent: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> None:
    """Append an event (inside the caller's transaction, so it commits with the change)."""
    if details:
        leaked = FORBIDDEN_DETAIL_KEYS.intersection(k.lower() for k in details)
        if leaked:
            raise ValueError(f"audit details must not carry secrets: {sorted(leaked)}")
    tx.execute(
        _INSERT,
        {
            "at": at,
            "event": event,
            "outcome": outcome,
            "user_id": user_id,
            "actor_id": actor_id,
            "ip": clip(ip, 64),
            "user_agent": clip(user_agent, 512),
            "details": dict(details) if details else None,
        },
    )


def _filters(
    event: str | Sequence[str] | None,
    user_id: str | None,
    actor_id: str | None,
    outcome: str | None,
    since: datetime | None,
    until: datetime | None,
) -> list[ColumnElement[bool]]:
    a = audit_events.c
    where: list[ColumnElement[bool]] = []
    if isinstance(event, str):
        where.append(a.event == event)
    elif event is not None:
        where.append(a.event.in_(list(event)))
    if user_id is not None:
        where.append(a.user_id == user_id)
    if actor_id is not None:
        where.append(a.actor_id == actor_id)
    if outcome is not None:
        where.append(a.outcome == outcome)
    if since is not None:
        where.append(a.at >= since)
    if until is not None:
        where.append(a.at < until)
    return where


def query(
    tx: Tx,
    *,
    event: str | Sequence[str] | None = None,
    user_id: str | None = None,
    actor_id: str | None = None,
    outcome: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[AuditEvent]:
    """A page of events, newest first; ``since`` is inclusive and ``until`` exclusive."""
    stmt = (
        select(audit_events)
        .where(*_filters(event, user_id, actor_id, outcome, since, until))
        .order_by(audit_events.c.at.desc(), audit_events.c.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return [
        AuditEvent(**{**row._mapping, "details": row.details or {}}) for row in tx.execute(stmt)
    ]


def count(
    tx: Tx,
    *,
    event: str | Sequence[str] | None = None,
    user_id: str | None = None,
    actor_id: str | None = None,
    outcome: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> int:
    """How many events match the same filters as :func:`query`."""
    stmt = (
        select(func.count())
        .select_from(audit_events)
        .where(*_filters(event, user_id, actor_id, outcome, since, until))
    )
    return int(tx.execute(stmt).scalar_one())


def for_user(
    tx: Tx, user_id: str, *, events: Sequence[str] | None = None, limit: int = 20
) -> list[AuditEvent]:
    """The newest events about ``user_id`` (their own rows only), optionally of ``events``."""
    return query(tx, user_id=user_id, event=events, limit=limit)


def delete_before(tx: Tx, before: datetime, *, limit: int | None = None) -> int:
    """Retention: drop events older than ``before`` (at most ``limit``, oldest first)."""
    return delete_where(tx, audit_events, audit_events.c.at < before, limit)


def last_at(user_id: ColumnElement[str], event: str = SIGN_IN) -> ScalarSelect[datetime]:
    """The time of the newest successful ``event`` of ``user_id`` (a correlated subquery).

    Answered from the ``(user_id, at)`` index; ``NULL`` for an account that never had one.
    """
    a = audit_events.c
    return (
        select(func.max(a.at))
        .where(a.user_id == user_id, a.event == event, a.outcome == "success")
        .scalar_subquery()
    )
