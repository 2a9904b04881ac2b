"""Security keys and passkeys: user handles, credentials and passkey sign-in challenges.

Nothing here is secret: a credential is its id and its public key. The signature counter is
the replay guard of a key that keeps one (:func:`advance_sign_count`): like a TOTP step
(DESIGN §4.1) it only moves forward, in one conditional ``UPDATE``, so two requests carrying
the same assertion cannot both succeed. A passkey challenge is single-use the same way
(:func:`complete_passkey_challenge`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, func, select, update

from twostep.store._sql import delete_where, new_id
from twostep.store.db import Tx
from twostep.store.tables import passkey_challenges, webauthn_credentials, webauthn_users

__all__ = [
    "Credential",
    "advance_sign_count",
    "complete_passkey_challenge",
    "count_for_user",
    "create",
    "create_passkey_challenge",
    "delete",
    "delete_all_for_user",
    "delete_expired_passkey_challenges",
    "get",
    "get_by_credential_id",
    "list_for_user",
    "rename",
    "user_handle",
    "user_for_handle",
]

c = webauthn_credentials.c


@dataclass(frozen=True, slots=True)
class Credential:
    """One registered security key or passkey of a user (public data only)."""

    id: str
    user_id: str
    credential_id: str
    public_key: bytes
    sign_count: int
    transports: tuple[str, ...]
    name: str
    aaguid: str | None
    backed_up: bool
    discoverable: bool | None
    created_at: datetime
    last_used_at: datetime | None


def _credential(row: Row[Any]) -> Credential:
    values = dict(row._mapping)
    return Credential(**{**values, "transports": tuple(values["transports"] or ())})


def user_handle(tx: Tx, user_id: str, *, new_handle: str, at: datetime) -> str:
    """The user's WebAuthn handle; ``new_handle`` (random) becomes it on first use."""
    stmt = select(webauthn_users.c.user_handle).where(webauthn_users.c.user_id == user_id)
    found = tx.execute(stmt).scalar_one_or_none()
    if found is not None:
        return str(found)
    values = {"user_id": user_id, "user_handle": new_handle, "created_at": at}
    tx.execute(webauthn_users.insert().values(**values))
    return new_handle


def user_for_handle(tx: Tx, handle: str) -> str | None:
    """The id of the user whose WebAuthn handle is ``handle``."""
    stmt = select(webauthn_users.c.user_id).where(webauthn_users.c.user_handle == handle)
    found = tx.execute(stmt).scalar_one_or_none()
    return None if found is None else str(found)


def create(
    tx: Tx,
    *,
    user_id: str,
    credential_id: str,
    public_key: bytes,
    sign_count: int,
    transports: Sequence[str],
    name: str,
    aaguid: str | None,
    backed_up: bool,
    discoverable: bool | None,
    at: datetime,
) -> Credential | None:
    """Store a verified credential; ``None`` when its credential id is registered already."""
    taken = select(c.id).where(c.credential_id == credential_id)
    if tx.execute(taken).first() is not None:
        return None
    values: dict[str, Any] = {
        "id": new_id(),
        "user_id": user_id,
        "credential_id": credential_id,
        "public_key": public_key,
        "sign_count": sign_count,
        "transports": list(transports),
        "name": name,
        "aaguid": aaguid,
        "backed_up": backed_up,
        "discoverable": discoverable,
        "created_at": at,
        "last_used_at": None,
    }
    tx.execute(webauthn_credentials.insert().values(**values))
    return Credential(**{**values, "transports": tuple(transports)})


def get(tx: Tx, row_id: str, *, user_id: str) -> Credential | None:
    """The user's credential with this row id."""
    stmt = select(webauthn_credentials).where(c.id == row_id, c.user_id == user_id)
    row = tx.execute(stmt).first()
    return None if row is None else _credential(row)


def get_by_credential_id(tx: Tx, credential_id: str) -> Credential | None:
    """The credential an authenticator named (base64url credential id), whoever owns it."""
    row = tx.execute(select(webauthn_credentials).where(c.credential_id == credential_id)).first()
    return None if row is None else _credential(row)


def list_for_user(tx: Tx, user_id: str) -> list[Credential]:
    """The user's credentials, oldest first."""
    stmt = select(webauthn_credentials).where(c.user_id == user_id).order_by(c.created_at, c.id)
    return [_credential(row) for row in tx.execute(stmt)]


def count_for_user(tx: Tx, user_id: str) -> int:
    """How many security keys and passkeys the user has."""
    return int(tx.execute(select(func.count()).where(c.user_id == user_id)).scalar_one())


def advance_sign_count(tx: Tx, row_id: str, new_count: int, at: datetime) -> bool:
    """Record a use: True for exactly one caller.

    A key that keeps a counter must present one strictly above the stored value; a key that
    keeps none reports 0 every time (and the stored value stays 0), which is accepted.
    """
    moved = (c.sign_count < new_count) if new_count > 0 else (c.sign_count == 0)
    stmt = (
        update(webauthn_credentials)
        .where(c.id == row_id, moved)
        .values(sign_count=new_count, last_used_at=at)
    )
    return tx.execute(stmt).rowcount == 1


def rename(tx: Tx, row_id: str, user_id: str, name: str) -> bool:
    """Rename the user's credential; False when it is not theirs."""
    stmt = update(webauthn_credentials).where(c.id == row_id, c.user_id == user_id)
    return tx.execute(stmt.values(name=name)).rowcount == 1


def delete(tx: Tx, row_id: str, user_id: str) -> bool:
    """Remove the user's credential; False when it is not theirs."""
    stmt = webauthn_credentials.delete().where(c.id == row_id, c.user_id == user_id)
    return tx.execute(stmt).rowcount == 1


def delete_all_for_user(tx: Tx, user_id: str) -> int:
    """Remove every credential of the user (2FA off, admin reset); how many went."""
    return tx.execute(webauthn_credentials.delete().where(c.user_id == user_id)).rowcount


def create_passkey_challenge(tx: Tx, *, at: datetime, expires_at: datetime) -> str:
    """Open a passkey sign-in challenge; its id."""
    challenge_id = new_id()
    values = {"id": challenge_id, "created_at": at, "expires_at": expires_at}
    tx.execute(passkey_challenges.insert().values(**values, completed_at=None))
    return challenge_id


def complete_passkey_challenge(tx: Tx, challenge_id: str, at: datetime) -> bool:
    """Use up a passkey challenge: True exactly once, and only before it expires."""
    p = passkey_challenges.c
    stmt = (
        update(passkey_challenges)
        .where(p.id == challenge_id, p.completed_at.is_(None), p.expires_at > at)
        .values(completed_at=at)
    )
    return tx.execute(stmt).rowcount == 1


def delete_expired_passkey_challenges(tx: Tx, before: datetime, *, limit: int | None = None) -> int:
    """Housekeeping: drop passkey challenges that expired before ``before``."""
    return delete_where(tx, passkey_challenges, passkey_challenges.c.expires_at < before, limit)
