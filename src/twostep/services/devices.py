"""Managing authenticators: list, rename, remove one, or turn two-factor off altogether.

Invariants:

* a device never leaves this module with its secret: :class:`DeviceInfo` has no such field;
* removing an *active* device and disabling 2FA need an elevated session (DESIGN §4.7);
  renaming and removing a still-pending device only need a full session;
* 2FA is on exactly while an active device exists, so removing the last active device turns
  it off completely: the backup codes go in the same transaction, the owner is told;
* with ``MFA=required`` the last active device cannot be removed (the account would keep a
  full session without a second factor); an operator can still reset it;
* another user's device is :class:`NotFound`, never :class:`Forbidden`, so ids leak nothing;
* a security key or passkey (``kind="webauthn"``) is listed, renamed and removed like an
  app (it is active from the start); turning 2FA off removes keys and remembered browsers.

Changes to a user's factors first lock the user's row (:func:`lock_user`), so two sessions
removing the last two devices at once cannot both believe another one is left.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from twostep.errors import Forbidden, InvalidInput, NotFound
from twostep.mail import EventContext
from twostep.services import audit, enrollment, remembered, sessions
from twostep.services.context import Context, Origin
from twostep.store import Tx, backup_codes, devices, users, webauthn

Kind = Literal["totp", "webauthn"]


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    """What the owner (or an operator) may see of a device: never its secret."""

    id: str
    name: str
    status: devices.DeviceStatus
    created_at: datetime
    confirmed_at: datetime | None
    last_used_at: datetime | None
    kind: Kind = "totp"

    @classmethod
    def of(cls, device: devices.Device) -> DeviceInfo:
        return cls(
            device.id,
            device.name,
            device.status,
            device.created_at,
            device.confirmed_at,
            device.last_used_at,
        )

    @classmethod
    def of_key(cls, key: webauthn.Credential) -> DeviceInfo:
        """A security key or passkey: active from the moment it was registered."""
        return cls(
            key.id, key.name, "active", key.created_at, key.created_at, key.last_used_at,
            "webauthn",
        )  # fmt: skip


def all_factors(tx: Tx, user_id: str) -> list[DeviceInfo]:
    """The user's apps (pending ones included) and then their security keys, oldest first."""
    apps = [DeviceInfo.of(device) for device in devices.list_for_user(tx, user_id)]
    return apps + [DeviceInfo.of_key(key) for key in webauthn.list_for_user(tx, user_id)]


@dataclass(frozen=True, slots=True)
class Removal:
    """A device was removed; ``two_factor_disabled`` when it was the last active one."""

    device_id: str
    two_factor_disabled: bool


def lock_user(tx: Tx, user_id: str) -> users.User | None:
    """Read the user's row and lock it until ``tx`` ends (``users.get(for_update=True)``).

    On PostgreSQL this serialises concurrent changes to one user's factors; on SQLite every
    write transaction already holds the database write lock (``BEGIN IMMEDIATE``).
    """
    return users.get(tx, user_id, for_update=True)


def list_devices(ctx: Context, principal: sessions.Principal) -> list[DeviceInfo]:
    """The caller's devices, pending ones included, oldest first."""
    with ctx.db.transaction(readonly=True) as tx:
        return all_factors(tx, principal.user.id)


def rename(
    ctx: Context, principal: sessions.Principal, device_id: str, name: str, origin: Origin
) -> DeviceInfo:
    """Give one of the caller's devices a new name (1–64 printable characters)."""
    sessions.require_full(principal)
    if not name.strip():
        raise InvalidInput("device_name", "Give the device a name.")
    cleaned = enrollment.clean_device_name(name)
    user_id = principal.user.id
    at = ctx.clock.now()
    with ctx.db.transaction() as tx:
        if devices.rename(tx, device_id, user_id, cleaned):
            device = devices.get(tx, device_id, user_id=user_id)
            info = DeviceInfo.of(device) if device is not None else None
        elif webauthn.rename(tx, device_id, user_id, cleaned):
            key = webauthn.get(tx, device_id, user_id=user_id)
            info = DeviceInfo.of_key(key) if key is not None else None
        else:
            info = None
        if info is None:
            raise NotFound("No such device.")
        audit.record(
            tx, "device.renamed", "success", at=at, origin=origin, user_id=user_id,
            details={"device_id": device_id},
        )  # fmt: skip
    return info


def remove(ctx: Context, principal: sessions.Principal, device_id: str, origin: Origin) -> Removal:
    """Remove one of the caller's devices; the last active one takes 2FA with it."""
    sessions.require_full(principal)
    user_id = principal.user.id
    at = ctx.clock.now()
    with ctx.db.transaction() as tx:
        user = lock_user(tx, user_id)
        app = devices.get(tx, device_id, user_id=user_id)
        key = webauthn.get(tx, device_id, user_id=user_id) if app is None else None
        device = DeviceInfo.of(app) if app is not None else key and DeviceInfo.of_key(key)
        if user is None or not device:
            raise NotFound("No such device.")
        if device.status == "active":
            sessions.require_elevated(principal, at)
        if app is not None:
            devices.delete(tx, device.id, user_id)
        else:
            webauthn.delete(tx, device.id, user_id)
        last = device.status == "active" and devices.count_active(tx, user_id) == 0
        if last and ctx.settings.mfa == "required":
            raise Forbidden("Two-factor authentication is required: add another device first.")
        audit.record(
            tx, "device.removed", "success", at=at, origin=origin, user_id=user_id,
            details={"device_id": device.id, "status": device.status},
        )  # fmt: skip
        if last:
            _turn_off(tx, user_id, at, origin, reason="last_device_removed")
    if last:
        _notify_disabled(ctx, user.email, at, origin)
    return Removal(device.id, last)


def disable_two_factor(ctx: Context, principal: sessions.Principal, origin: Origin) -> int:
    """Delete every device and backup code of the caller; how many active devices went."""
    sessions.require_full(principal)
    user_id = principal.user.id
    at = ctx.clock.now()
    sessions.require_elevated(principal, at)
    if ctx.settings.mfa == "required":
        raise Forbidden("Two-factor authentication is required on this service.")
    with ctx.db.transaction() as tx:
        user = lock_user(tx, user_id)
        if user is None:
            raise NotFound("No such account.")
        active = devices.count_active(tx, user_id)
        devices.delete_all_for_user(tx, user_id)
        webauthn.delete_all_for_user(tx, user_id)
        _turn_off(tx, user_id, at, origin, reason="disabled_by_user")
    if active:
        _notify_disabled(ctx, user.email, at, origin)
    return active


def _turn_off(tx: Tx, user_id: str, at: datetime, origin: Origin, *, reason: str) -> None:
    dropped = backup_codes.delete_all(tx, user_id)
    remembered.forget_all_in(tx, user_id, at, origin, reason="two_factor_off")
    audit.record(
        tx, "two_factor.disabled", "success", at=at, origin=origin, user_id=user_id,
        details={"reason": reason, "backup_removed": dropped},
    )  # fmt: skip


def _notify_disabled(ctx: Context, email: str, at: datetime, origin: Origin) -> None:
    event = EventContext(at=at, ip=origin.ip, user_agent=origin.user_agent)
    ctx.send(ctx.messages.two_factor_disabled(email, event=event))
