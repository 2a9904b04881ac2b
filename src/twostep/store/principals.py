"""Who is behind a request: the live session, its user and whether 2FA is on, in one read.

Every authenticated request reads this (DESIGN §4.12: a revoked session is refused on the very
next request, so nothing here is cached). One indexed statement joins the session to its user
and asks whether the user has an active device or a security key; it is built once, at
import, and only its parameters change per call.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, bindparam, exists, or_, select

from twostep.store.db import Tx
from twostep.store.sessions import UserSession, session_of
from twostep.store.tables import sessions, totp_devices, users, webauthn_credentials
from twostep.store.users import User

__all__ = ["Principal", "get_live", "get_live_by_sso"]


@dataclass(frozen=True, slots=True)
class Principal:
    """A live session, its user, and ``two_factor``: the user had a second factor when read."""

    user: User
    session: UserSession
    two_factor: bool

    def is_elevated(self, at: datetime) -> bool:
        """The session holds a fresh factor at ``at`` (DESIGN §4.7)."""
        return self.session.is_elevated(at)


_TWO_FACTOR = or_(
    exists().where(totp_devices.c.user_id == users.c.id, totp_devices.c.status == "active"),
    exists().where(webauthn_credentials.c.user_id == users.c.id),
).label("two_factor")
_JOINED = (
    select(sessions, *(c.label(f"u__{c.name}") for c in users.c), _TWO_FACTOR)
    .join(users, users.c.id == sessions.c.user_id)
    .where(
        sessions.c.revoked_at.is_(None),
        sessions.c.expires_at > bindparam("at", type_=sessions.c.expires_at.type),
    )
)
_LIVE = _JOINED.where(sessions.c.id == bindparam("session_id"))
_LIVE_BY_SSO = _JOINED.where(sessions.c.sso_hash == bindparam("sso_hash"))


def get_live(tx: Tx, session_id: str, at: datetime) -> Principal | None:
    """The session if neither revoked nor expired at ``at``, with its user; else ``None``."""
    return _principal(tx.execute(_LIVE, {"session_id": session_id, "at": at}).first())


def get_live_by_sso(tx: Tx, sso_hash: str, at: datetime) -> Principal | None:
    """The live session holding this single-sign-on token hash, with its user; else ``None``.

    The forward-auth check of every proxied request: one indexed statement, as for
    :func:`get_live`.
    """
    return _principal(tx.execute(_LIVE_BY_SSO, {"sso_hash": sso_hash, "at": at}).first())


def _principal(row: Row[Any] | None) -> Principal | None:
    if row is None:
        return None
    values = row._mapping
    user = User(**{c.name: values[f"u__{c.name}"] for c in users.c})
    session = session_of({c.name: values[c.name] for c in sessions.c})
    return Principal(user, session, bool(values["two_factor"]))
