"""Backup codes as the owner sees them: how many are left, and a fresh batch on demand.

Invariants: a new batch replaces the old one in one transaction, so no moment exists where
both work or neither does (:func:`twostep.services.backup.issue_batch`); the new codes are
returned once and stored only as keyed hashes (DESIGN §4.2); regenerating needs an elevated
session (§4.7) and an active device, since backup codes stand in for a device and are
deleted with the last one.

Example::

    backup_status(ctx, principal)      # BackupCodeStatus(remaining=9, total=10, created_at=…)
    codes = regenerate(ctx, principal, origin)   # show these once; the old ones are dead
"""

from __future__ import annotations

from twostep.errors import EnrollmentRequired, NotFound
from twostep.mail import EventContext
from twostep.services import audit, backup, sessions
from twostep.services.context import Context, Origin
from twostep.services.devices import lock_user
from twostep.store import backup_codes, devices

BackupStatus = backup_codes.BackupCodeStatus
"""``remaining``, ``total`` and ``created_at`` (``None`` when the user has no codes)."""


def backup_status(ctx: Context, principal: sessions.Principal) -> BackupStatus:
    """How many of the caller's backup codes are unused, of how many, made when."""
    with ctx.db.transaction(readonly=True) as tx:
        return backup_codes.status(tx, principal.user.id)


def regenerate(ctx: Context, principal: sessions.Principal, origin: Origin) -> list[str]:
    """Replace the caller's backup codes with a new batch; the codes, to show once."""
    sessions.require_full(principal)
    at = ctx.clock.now()
    sessions.require_elevated(principal, at)
    user_id = principal.user.id
    with ctx.db.transaction() as tx:
        user = lock_user(tx, user_id)
        if user is None:
            raise NotFound("No such account.")
        if devices.count_active(tx, user_id) == 0:
            raise EnrollmentRequired("Set up an authenticator app before making backup codes.")
        codes = backup.issue_batch(tx, ctx, user_id, at)
        audit.record(
            tx, "backup_codes.regenerated", "success", at=at, origin=origin, user_id=user_id,
            details={"count": len(codes)},
        )  # fmt: skip
    event = EventContext(at=at, ip=origin.ip, user_agent=origin.user_agent)
    ctx.send(ctx.messages.backup_codes_regenerated(user.email, event=event))
    return codes
