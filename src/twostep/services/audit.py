"""Audit rows for every authentication event, written in the change's own transaction.

Invariant: no audit row carries a code, secret, token or password. Details are checked
against a list of forbidden key fragments, and a violation is a programming error.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from twostep.services.context import Origin
from twostep.store import Tx
from twostep.store import audit as audit_store

Outcome = Literal["success", "failure", "denied", "info"]

FORBIDDEN_DETAIL_KEYS = ("code", "secret", "password", "token", "otp", "pepper", "ciphertext")


def record(
    tx: Tx,
    event: str,
    outcome: Outcome,
    *,
    at: datetime,
    origin: Origin,
    user_id: str | None = None,
    actor_id: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> None:
    """Write one audit row in ``tx``; refuses details whose keys could hold a secret."""
    for name in details or {}:
        lowered = name.lower()
        if any(fragment in lowered for fragment in FORBIDDEN_DETAIL_KEYS):
            raise ValueError(f"audit details must not carry {name!r}")
    audit_store.record(
        tx,
        event=event,
        outcome=outcome,
        at=at,
        user_id=user_id,
        actor_id=actor_id if actor_id is not None else user_id,
        ip=origin.ip,
        user_agent=origin.user_agent,
        details=details,
    )
