"""Backup codes as the owner sees them: how many are left, and a fresh batch on demand.

Invariants: a new batch replaces the old one in one transaction, so no moment exists where
both work or neither does (:func:`issue_batch`); the new codes are
returned once and stored only as keyed hashes (DESIGN §4.2); regenerating needs an elevated
session (§4.7) and an active device, since backup codes stand in for a device and are
deleted with the last one.

Example::

    backup_status(ctx, principal)      # BackupCodeStatus(remaining=9, total=10, created_at=…)
    codes = regenerate(ctx, principal, origin)   # show these once; the old ones are dead
"""

from __future__ import annotations

from datetime import datetime

from twostep.errors import EnrollmentRequired, NotFound
from twostep.mail import EventContext
from twostep.otp.backup_codes import generate_backup_codes, normalize_backup_code
from twostep.services import audit, sessions
from twostep.services.context import Context, Origin
from twostep.services.factors import backup_code_hash
from twostep.store import Tx, backup_codes, devices, users

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
        user = users.get(tx, user_id, for_update=True)
        if user is None:
            raise NotFound("No such account.")
        if devices.count_active(tx, user_id) == 0:
            raise EnrollmentRequired("Set up an authenticator app before making backup codes.")
        codes = issue_batch(tx, ctx, user_id, at)
        audit.record(
            tx, "backup_codes.regenerated", "success", at=at, origin=origin, user_id=user_id,
            details={"count": len(codes)},
        )  # fmt: skip
    event = EventContext(at=at, ip=origin.ip, user_agent=origin.user_agent)
    ctx.send(ctx.messages.backup_codes_regenerated(user.email, event=event))
    return codes


def issue_batch(tx: Tx, ctx: Context, user_id: str, at: datetime) -> list[str]:
    """Replace the user's codes with a new batch inside ``tx``; the codes, to show once."""
    codes = generate_backup_codes()
    hashes = [backup_code_hash(ctx, _normalized(code)) for code in codes]
    backup_codes.replace_batch(tx, user_id, hashes, at)
    return codes


def _normalized(code: str) -> str:
    normalized = normalize_backup_code(code)
    if normalized is None:  # generate_backup_codes only makes codes that normalise
        raise AssertionError("generated an unreadable backup code")
    return normalized
