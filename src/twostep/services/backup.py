"""Backup codes: a batch of ten single-use codes, shown once, stored as keyed hashes."""

from __future__ import annotations

from datetime import datetime

from twostep.otp.backup_codes import generate_backup_codes, normalize_backup_code
from twostep.services.context import Context
from twostep.services.factors import backup_code_hash
from twostep.store import Tx, backup_codes


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
