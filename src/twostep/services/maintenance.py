"""Housekeeping: rows past their time are deleted, in small batches, by one node at a time.

What goes, and when (``now`` from the context's clock):

- challenges, email codes and reset tokens that expired more than ``GRACE`` ago;
- sessions that expired more than ``GRACE`` ago, with their retired refresh-token hashes
  and step-up challenges (``ON DELETE CASCADE``); live sessions keep their retired hashes,
  which reuse detection needs (DESIGN §4.9);
- throttle counters untouched for ``THROTTLE_IDLE`` whose lock ended as long ago: longer
  than any lock (a day at most), window or escalation memory (a day);
- audit events older than ``TWOSTEP_AUDIT_DAYS``.

Invariant: every batch is its own short transaction of at most ``batch`` rows, so a purge
never holds the write lock (SQLite) or row locks (PostgreSQL) for long, and sign-ins go on
between batches. On PostgreSQL :func:`purge_if_free` runs on one node at a time (an advisory
lock); the others skip that round.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from twostep.security import Keyring
from twostep.services.context import Context
from twostep.store import (
    Database,
    Tx,
    audit,
    challenges,
    devices,
    email_codes,
    remembered,
    reset_tokens,
    sessions,
    throttles,
    webauthn,
)

log = logging.getLogger("twostep.maintenance")

GRACE = timedelta(hours=1)
"""Expired rows stay this long, so a late request still meets "expired", not "unknown"."""
THROTTLE_IDLE = timedelta(days=2)
DEFAULT_BATCH = 500
LOCK_NAME = "twostep.purge"

Purge = Callable[..., int]


@dataclass(frozen=True, slots=True)
class PurgeReport:
    """How many rows of each kind went; ``skipped`` when another node held the purge lock."""

    deleted: dict[str, int] = field(default_factory=dict)
    skipped: bool = False

    @property
    def total(self) -> int:
        return sum(self.deleted.values())

    def summary(self) -> str:
        """``sessions=3 challenges=12 …`` (kinds with nothing deleted are left out)."""
        return " ".join(f"{kind}={n}" for kind, n in self.deleted.items() if n) or "nothing"


def _plan(ctx: Context, now: datetime) -> list[tuple[str, Purge, datetime]]:
    expired = now - GRACE
    return [
        ("challenges", challenges.delete_expired, expired),
        ("passkey_challenges", webauthn.delete_expired_passkey_challenges, expired),
        ("email_codes", email_codes.delete_expired, expired),
        ("remembered_browsers", remembered.delete_expired, expired),
        ("reset_tokens", reset_tokens.delete_expired, expired),
        ("sessions", sessions.delete_expired, expired),
        ("throttles", throttles.delete_stale, now - THROTTLE_IDLE),
        ("audit_events", audit.delete_before, now - timedelta(days=ctx.settings.audit_days)),
    ]


def purge(
    ctx: Context,
    *,
    batch: int = DEFAULT_BATCH,
    between_batches: Callable[[], None] | None = None,
) -> PurgeReport:
    """Delete every row past its time, ``batch`` rows per transaction.

    ``between_batches`` runs after each full batch, outside any transaction (tests use it
    to show that other writers get in).
    """
    if batch < 1:
        raise ValueError("batch must be positive")
    now = ctx.clock.now()
    deleted: dict[str, int] = {}
    for kind, delete, before in _plan(ctx, now):
        deleted[kind] = 0
        while True:
            tx: Tx
            with ctx.db.transaction() as tx:
                count = delete(tx, before, limit=batch)
            deleted[kind] += count
            if count < batch:
                break
            if between_batches is not None:
                between_batches()
    return PurgeReport(deleted)


def purge_if_free(ctx: Context, *, batch: int = DEFAULT_BATCH) -> PurgeReport:
    """:func:`purge` unless another node is purging right now (PostgreSQL advisory lock)."""
    with ctx.db.exclusive(LOCK_NAME) as held:
        if not held:
            return PurgeReport(skipped=True)
        report = purge(ctx, batch=batch)
    if report.total:
        log.info("purge: %s", report.summary())
    return report


# --- backups ------------------------------------------------------------------------------
#
# A database backup is useless without the keyring, by design (DESIGN §4.4): TOTP secrets
# are sealed with its keys and backup codes, reset tokens and email codes are hashed with its
# pepper. So a backup names the key ids it needs, and a restore refuses a keyring that lacks
# them before it overwrites anything.


def needed_key_ids(db: Database) -> list[str]:
    """Keyring key ids the stored secrets of ``db`` are sealed with."""
    with db.transaction(readonly=True) as tx:
        return devices.key_ids_in_use(tx)


def missing_key_ids(db: Database, keyring: Keyring) -> list[str]:
    """Key ids ``db`` needs that ``keyring`` does not hold (empty: the pair works)."""
    held = set(keyring.key_ids)
    return [key_id for key_id in needed_key_ids(db) if key_id not in held]


def backup_database(db: Database, target: Path) -> list[str]:
    """Write a consistent copy of the SQLite ``db`` to ``target`` (0600); its key ids."""
    db.backup(target)
    return needed_key_ids(db)


def restore_database(backup: Path, database_url: str) -> None:
    """Copy the SQLite file ``backup`` over the database at ``database_url``.

    The service must be stopped. The copy goes through SQLite's backup API, so the target
    keeps its own journal mode and permissions; the caller checks the keyring first.
    """
    source = Database.from_url(f"sqlite:///{backup.resolve()}")
    target = Database.from_url(database_url)
    try:
        target.restore_from(source)
    finally:
        source.dispose()
        target.dispose()
