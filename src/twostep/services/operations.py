"""Operator tasks: the schema at start-up, key rotation, and creating accounts by hand.

Start-up rule: development migrates the database by itself; production refuses to start on
a schema that is behind and names the command that fixes it, so an upgrade never runs by
surprise under live traffic.
"""

from __future__ import annotations

from dataclasses import dataclass

from twostep.config import Settings
from twostep.errors import ConfigurationError, InvalidInput
from twostep.security import Sealed
from twostep.services import audit, password_policy
from twostep.services.context import Context, Origin
from twostep.services.factors import device_owner
from twostep.services.identity import normalize_email
from twostep.store import Database, devices, migrate, users

CLI_ORIGIN = Origin(ip=None, user_agent="twostep-cli")


def prepare_database(settings: Settings, db: Database) -> None:
    """Migrate in development; in production refuse a schema that is not current.

    Not a rule of :class:`Settings`: whether the schema is current can only be asked of the
    database, once it is reachable.
    """
    if settings.is_development:
        migrate.upgrade(db)
        return
    if not migrate.is_current(db):
        raise ConfigurationError(
            "the database schema is behind this version of twostep: run 'twostep migrate'"
        )


def database_state(db: Database) -> str:
    """``ok``, ``unreachable`` or ``schema behind``: whether this node can serve (readiness)."""
    if not db.ping():
        return "unreachable"
    return "ok" if migrate.is_current(db) else "schema behind"


@dataclass(frozen=True, slots=True)
class RekeyReport:
    """How many device secrets were moved under the primary key."""

    reencrypted: int
    primary_key_id: str


def rekey_secrets(ctx: Context, *, batch: int = 500) -> RekeyReport:
    """Re-encrypt every device secret not yet under the keyring's primary key.

    Runs in batches, each its own transaction; a row re-keyed concurrently is skipped by the
    conditional update and picked up (or not needed) on the next pass. Safe to run again.
    """
    keyring = ctx.keyring
    primary = keyring.primary_key_id
    done = 0
    while True:
        with ctx.db.transaction() as tx:
            rows = devices.list_for_rekey(tx, current_key_id=primary, limit=batch)
            for device in rows:
                old = Sealed(device.key_id, device.secret_ciphertext)
                sealed = keyring.reencrypt(old, owner=device_owner(device.id))
                if devices.replace_secret(
                    tx,
                    device.id,
                    ciphertext=sealed.ciphertext,
                    key_id=sealed.key_id,
                    expected_key_id=device.key_id,
                ):
                    done += 1
            if rows:
                audit.record(
                    tx, "keys.rekeyed", "success", at=ctx.clock.now(), origin=CLI_ORIGIN,
                    details={"count": len(rows), "primary_key_id": primary},
                )  # fmt: skip
        if len(rows) < batch:
            return RekeyReport(done, primary)


def create_user(
    ctx: Context, email: str, password: str, *, admin: bool = False, origin: Origin = CLI_ORIGIN
) -> users.User:
    """Create a verified account by hand (the first admin, or a service account)."""
    normalized = normalize_email(email)
    password_policy.check(password, email=normalized)
    password_hash = ctx.passwords.hash(password)
    at = ctx.clock.now()
    with ctx.db.transaction() as tx:
        user = users.create(
            tx,
            email=normalized,
            password_hash=password_hash,
            at=at,
            role="admin" if admin else "user",
            email_verified_at=at,
        )
        if user is None:
            raise InvalidInput("email", "An account with this email already exists.")
        audit.record(
            tx, "user.created", "success", at=at, origin=origin, user_id=user.id,
            details={"role": user.role, "by": "operator"},
        )  # fmt: skip
    return user
