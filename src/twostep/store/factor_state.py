"""What a second-factor check reads first: the active devices and the lockout, in one read.

Statements built once at import (DESIGN §4.3). On SQLite, one: the user's active devices
with the account's lockout row joined to each; every write transaction there holds the
database's write lock from ``BEGIN IMMEDIATE``, so concurrent checks of one account run one
after the other and each sees the failures the previous one counted. On PostgreSQL a
transaction-scoped advisory lock named after the account's lockout key is taken first: it
queues concurrent checks of the account the same way, whatever factors it has, and holds no
row that another use case could wait on in the opposite order. The devices and the counter
are then read by a statement of their own, which sees the failure the previous check just
committed (READ COMMITTED takes a new snapshot per statement). An account without an
authenticator app (a security key, backup codes) has no device row to join its counter to:
the counter is then read on its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, bindparam, func, select

from twostep.store import throttles as counters
from twostep.store.db import Tx
from twostep.store.devices import Device
from twostep.store.tables import throttles, totp_devices
from twostep.store.throttles import ThrottleState

__all__ = ["FactorState", "read"]


@dataclass(frozen=True, slots=True)
class FactorState:
    """The active devices (oldest first) and the lockout counter, if any failure is counted."""

    devices: list[Device]
    lockout: ThrottleState | None

    def failures(self, at: datetime) -> int:
        """Consecutive failures that still count at ``at`` (a lapsed lock starts them over)."""
        state = self.lockout
        if state is None:
            return 0
        lapsed = (
            state.locked_until is not None
            and state.locked_until <= at
            and state.window_started_at < state.locked_until
        )
        return 0 if lapsed else state.failures


_DEVICE_COLUMNS = list(totp_devices.c)
_LOCKOUT_COLUMNS = [c.label(f"t__{c.name}") for c in throttles.c]
_READ = (
    select(*_DEVICE_COLUMNS, *_LOCKOUT_COLUMNS)
    .select_from(totp_devices.outerjoin(throttles, throttles.c.key == bindparam("lockout_key")))
    .where(and_(totp_devices.c.user_id == bindparam("user_id"), totp_devices.c.status == "active"))
    .order_by(totp_devices.c.created_at, totp_devices.c.id)
)
_LOCK = select(func.pg_advisory_xact_lock(func.hashtextextended(bindparam("lockout_key"), 0)))


def read(tx: Tx, user_id: str, lockout_key: str) -> FactorState:
    """The devices of ``user_id`` able to answer, with the counter ``lockout_key``, locked."""
    params = {"user_id": user_id, "lockout_key": lockout_key}
    if tx.dialect.name != "sqlite":
        tx.execute(_LOCK, {"lockout_key": lockout_key})  # wait for a check of this account
    rows = tx.execute(_READ, params).all()
    found = [Device(**{c.name: row._mapping[c] for c in _DEVICE_COLUMNS}) for row in rows]
    if not rows:
        return FactorState([], counters.get(tx, lockout_key))
    lockout = None
    if rows[0]._mapping["t__key"] is not None:
        values = rows[0]._mapping
        lockout = ThrottleState(**{c.name: values[f"t__{c.name}"] for c in throttles.c})
    return FactorState(found, lockout)
