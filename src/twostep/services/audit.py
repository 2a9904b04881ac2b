"""Audit rows for every authentication event, written in the change's own transaction.

Invariant: no audit row carries a code, secret, token or password. Details are checked
against a list of forbidden key fragments, and a violation is a programming error.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from twostep.services.context import Context, Origin
from twostep.store import Tx
from twostep.store import audit as audit_store

if TYPE_CHECKING:
    from twostep.services.sessions import Principal

Outcome = Literal["success", "failure", "denied", "info"]

EVENT_NAMES: Mapping[str, str] = {
    "account.locked": "Account locked after failed attempts",
    "account.reclaimed": "Account reclaimed by the address's owner",
    "account.register": "Account created",
    "admin.denied": "Admin: access refused",
    "admin.role_changed": "Admin: role changed",
    "admin.sessions_revoked": "Admin: sessions signed out",
    "admin.two_factor_reset": "Admin: two-step verification reset",
    "admin.unlocked": "Admin: account unlocked",
    "admin.user_activated": "Admin: account turned on",
    "admin.user_deactivated": "Admin: account turned off",
    "backup_codes.regenerated": "New backup codes made",
    "browser.forgotten": "Remembered browser forgotten",
    "browser.forgotten_all": "Remembered browsers forgotten",
    "browser.remembered": "Browser remembered: no code asked there",
    "device.confirm": "Authenticator app added",
    "device.enroll_started": "Authenticator setup started",
    "device.removed": "Authenticator app removed",
    "device.renamed": "Authenticator app renamed",
    "elevate.factor": "Step-up: second factor",
    "email.change_requested": "Email change: code sent",
    "email.change_email": "Email change: code checked",
    "email.changed": "Email address changed",
    "email.code_requested": "Email code sent",
    "email.sign_in": "Sign-in: email code checked",
    "email.verify": "Email confirmation: code checked",
    "email.verified": "Email address confirmed",
    "email.verify_link": "Email confirmation link",
    "keys.rekeyed": "Keys rotated",
    "login.challenge": "Sign-in: code asked for",
    "login.email_code": "Sign-in: email code",
    "login.factor": "Sign-in: second factor",
    "login.passkey": "Sign-in: passkey",
    "login.password": "Sign-in: password",
    "password.changed": "Password changed",
    "password.confirm": "Step-up: password",
    "password.reset": "Password reset",
    "password.reset_requested": "Password reset: link sent",
    "reset.factor": "Password reset: second factor",
    "session.created": "Session started",
    "session.elevated": "Step-up: confirmed it's you",
    "session.refresh": "Session renewal",
    "session.refreshed": "Session renewed",
    "session.refresh_reuse": "Stale session token reused: sessions ended",
    "session.revoked": "Signed out",
    "session.revoked_all": "Every session signed out",
    "two_factor.disabled": "Two-step verification turned off",
    "user.created": "Account created by an operator",
    "webauthn.counter": "Security key refused: its counter went backwards",
    "webauthn.registered": "Security key added",
}
"""Audit event names in people's words: one table for the admin console and the user's list."""

OUTCOME_NAMES: Mapping[str, str] = {
    "success": "Succeeded",
    "failure": "Failed",
    "denied": "Refused",
    "info": "Noted",
}

USER_ACTIVITY_EVENTS = tuple(
    name
    for name in EVENT_NAMES
    if name
    not in {
        "admin.denied", "device.enroll_started", "email.code_requested", "keys.rekeyed",
        "login.challenge", "session.created", "session.refresh", "session.refreshed",
    }
)  # fmt: skip
"""What a user's own activity list shows: sign-ins, factor and account changes, resets
(not the bookkeeping of sessions being renewed)."""


def event_name(event: str) -> str:
    """``"Sign-in: second factor"`` for ``login.factor``; an unknown name, made readable."""
    known = EVENT_NAMES.get(event)
    if known is not None:
        return known
    area, _, action = event.partition(".")
    words = f"{area.replace('_', ' ')}: {action.replace('_', ' ')}" if action else area
    return words[:1].upper() + words[1:]


def outcome_name(outcome: str) -> str:
    return OUTCOME_NAMES.get(outcome, outcome.capitalize())


@dataclass(frozen=True, slots=True)
class Activity:
    """One entry of a user's own security activity, ready to show."""

    at: datetime
    event: str
    name: str
    outcome: str
    ip: str | None
    user_agent: str | None
    by_admin: bool


def user_activity(ctx: Context, principal: Principal, *, limit: int = 20) -> list[Activity]:
    """The caller's own recent security events, newest first (never anyone else's rows)."""
    user_id = principal.user.id
    with ctx.db.transaction(readonly=True) as tx:
        rows = audit_store.for_user(tx, user_id, events=USER_ACTIVITY_EVENTS, limit=limit)
    return [
        Activity(
            at=row.at,
            event=row.event,
            name=event_name(row.event),
            outcome=row.outcome,
            ip=row.ip,
            user_agent=row.user_agent,
            by_admin=row.actor_id is not None and row.actor_id != user_id,
        )  # fmt: skip
        for row in rows
    ]


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
