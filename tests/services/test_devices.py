"""Listing, renaming and removing devices, and turning 2FA off, on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest

from tests.services.conftest import ORIGIN, PASSWORD, Enrolled, code_at
from tests.services.support import add_device, elevate_now
from twostep.clock import ManualClock
from twostep.errors import ElevationRequired, Forbidden, InvalidInput, NotFound
from twostep.mail import MemoryMailer
from twostep.services import devices, enrollment, login, sessions
from twostep.services.context import Context
from twostep.store import audit, backup_codes, users

PrincipalFor = Callable[[users.User], sessions.Principal]


def remaining_backup_codes(ctx: Context, user_id: str) -> int:
    with ctx.db.transaction(readonly=True) as tx:
        return backup_codes.status(tx, user_id).total


def test_list_shows_every_device_without_its_secret(
    ctx: Context, enrolled: Enrolled, clock: ManualClock, principal_for: PrincipalFor
) -> None:
    principal = elevate_now(ctx, principal_for(enrolled.user), enrolled.secret, clock)
    clock.advance(60)
    pending = enrollment.begin(ctx, principal, "Tablet", ORIGIN)
    listed = devices.list_devices(ctx, principal)
    assert [(d.id, d.name, d.status) for d in listed] == [
        (enrolled.device_id, "Phone", "active"),
        (pending.device_id, "Tablet", "pending"),
    ]
    assert listed[0].confirmed_at is not None and listed[0].last_used_at is not None
    assert listed[1].confirmed_at is None
    fields = {f.name for f in dataclasses.fields(devices.DeviceInfo)}
    assert fields == {"id", "name", "status", "created_at", "confirmed_at", "last_used_at", "kind"}
    assert pending.secret not in repr(listed)


def test_rename_needs_no_elevation_and_cleans_the_name(
    ctx: Context, enrolled: Enrolled, principal_for: PrincipalFor
) -> None:
    principal = principal_for(enrolled.user)
    renamed = devices.rename(ctx, principal, enrolled.device_id, "  Work   phone ", ORIGIN)
    assert renamed.name == "Work phone"
    assert [d.name for d in devices.list_devices(ctx, principal)] == ["Work phone"]
    for bad in ("   ", "x" * 65, "tab\u0007bell"):
        with pytest.raises(InvalidInput):
            devices.rename(ctx, principal, enrolled.device_id, bad, ORIGIN)
    with ctx.db.transaction(readonly=True) as tx:
        (event,) = audit.query(tx, event="device.renamed")
    assert event.details == {"device_id": enrolled.device_id}


def test_another_users_device_is_not_found(
    ctx: Context,
    enrolled: Enrolled,
    clock: ManualClock,
    make_user: Callable[..., users.User],
    principal_for: PrincipalFor,
) -> None:
    mallory = principal_for(make_user("mallory@example.com"))
    assert devices.list_devices(ctx, mallory) == []
    with pytest.raises(NotFound):
        devices.rename(ctx, mallory, enrolled.device_id, "Mine now", ORIGIN)
    with pytest.raises(NotFound):
        devices.remove(ctx, mallory, enrolled.device_id, ORIGIN)
    # Even with a device of her own and an elevated session, she cannot reach it.
    _, secret = add_device(ctx, mallory, clock, "Mallory's phone")
    clock.advance(30)
    elevated_mallory = elevate_now(ctx, mallory, secret, clock)
    with pytest.raises(NotFound):
        devices.remove(ctx, elevated_mallory, enrolled.device_id, ORIGIN)
    assert [d.name for d in devices.list_devices(ctx, principal_for(enrolled.user))] == ["Phone"]


def test_removing_an_active_device_needs_elevation(
    ctx: Context, enrolled: Enrolled, clock: ManualClock, principal_for: PrincipalFor
) -> None:
    principal = principal_for(enrolled.user)
    with pytest.raises(ElevationRequired):
        devices.remove(ctx, principal, enrolled.device_id, ORIGIN)
    elevated = elevate_now(ctx, principal, enrolled.secret, clock)
    clock.advance(ctx.settings.elevation_minutes * 60)
    with pytest.raises(ElevationRequired):  # the elevation lapsed
        devices.remove(ctx, elevated, enrolled.device_id, ORIGIN)
    assert len(devices.list_devices(ctx, principal)) == 1


def test_a_pending_device_is_removed_without_elevation(
    ctx: Context, make_user: Callable[..., users.User], principal_for: PrincipalFor
) -> None:
    principal = principal_for(make_user())
    pending = enrollment.begin(ctx, principal, "Phone", ORIGIN)
    removal = devices.remove(ctx, principal, pending.device_id, ORIGIN)
    assert removal == devices.Removal(pending.device_id, two_factor_disabled=False)
    assert devices.list_devices(ctx, principal) == []


def test_removing_one_of_two_devices_keeps_two_factor_on(
    ctx: Context,
    enrolled: Enrolled,
    clock: ManualClock,
    principal_for: PrincipalFor,
    mailer: MemoryMailer,
) -> None:
    principal = elevate_now(ctx, principal_for(enrolled.user), enrolled.secret, clock)
    tablet_id, tablet_secret = add_device(ctx, principal, clock, "Tablet")
    removal = devices.remove(ctx, principal, enrolled.device_id, ORIGIN)
    assert not removal.two_factor_disabled
    assert [d.id for d in devices.list_devices(ctx, principal)] == [tablet_id]
    assert remaining_backup_codes(ctx, enrolled.user.id) == 10
    assert not [m for m in mailer.messages if m.tag == "two_factor_disabled"]
    challenge = login.login(ctx, enrolled.user.email, PASSWORD, ORIGIN)
    assert isinstance(challenge, login.ChallengeIssued)
    clock.advance(30)
    login.complete(ctx, challenge.challenge_id, ORIGIN, code=code_at(tablet_secret, clock))


def test_removing_the_last_device_turns_two_factor_off(
    ctx: Context,
    enrolled: Enrolled,
    clock: ManualClock,
    principal_for: PrincipalFor,
    mailer: MemoryMailer,
) -> None:
    principal = elevate_now(ctx, principal_for(enrolled.user), enrolled.secret, clock)
    removal = devices.remove(ctx, principal, enrolled.device_id, ORIGIN)
    assert removal == devices.Removal(enrolled.device_id, two_factor_disabled=True)
    assert devices.list_devices(ctx, principal) == []
    assert remaining_backup_codes(ctx, enrolled.user.id) == 0
    assert mailer.last("two_factor_disabled").to == enrolled.user.email
    assert isinstance(
        login.login(ctx, enrolled.user.email, PASSWORD, ORIGIN), sessions.IssuedSession
    )
    with ctx.db.transaction(readonly=True) as tx:
        (gone,) = audit.query(tx, event="device.removed")
        (off,) = audit.query(tx, event="two_factor.disabled")
    assert gone.details == {"device_id": enrolled.device_id, "status": "active"}
    assert off.details == {"reason": "last_device_removed", "backup_removed": 10}


def test_disable_two_factor_needs_elevation_and_removes_everything(
    ctx: Context,
    enrolled: Enrolled,
    clock: ManualClock,
    principal_for: PrincipalFor,
    mailer: MemoryMailer,
) -> None:
    principal = principal_for(enrolled.user)
    with pytest.raises(ElevationRequired):
        devices.disable_two_factor(ctx, principal, ORIGIN)
    elevated = elevate_now(ctx, principal, enrolled.secret, clock)
    add_device(ctx, elevated, clock, "Tablet")
    assert devices.disable_two_factor(ctx, elevated, ORIGIN) == 2
    assert devices.list_devices(ctx, elevated) == []
    assert remaining_backup_codes(ctx, enrolled.user.id) == 0
    assert mailer.last("two_factor_disabled").to == enrolled.user.email
    assert isinstance(
        login.login(ctx, enrolled.user.email, PASSWORD, ORIGIN), sessions.IssuedSession
    )
    with ctx.db.transaction(readonly=True) as tx:
        (off,) = audit.query(tx, event="two_factor.disabled")
    assert off.details["reason"] == "disabled_by_user"
    assert off.actor_id == off.user_id == enrolled.user.id


def test_required_mfa_keeps_the_last_device(
    ctx: Context, enrolled: Enrolled, clock: ManualClock, principal_for: PrincipalFor
) -> None:
    ctx.settings = ctx.settings.model_copy(update={"mfa": "required"})
    principal = elevate_now(ctx, principal_for(enrolled.user), enrolled.secret, clock)
    with pytest.raises(Forbidden):
        devices.remove(ctx, principal, enrolled.device_id, ORIGIN)
    with pytest.raises(Forbidden):
        devices.disable_two_factor(ctx, principal, ORIGIN)
    assert [d.status for d in devices.list_devices(ctx, principal)] == ["active"]
    assert remaining_backup_codes(ctx, enrolled.user.id) == 10
