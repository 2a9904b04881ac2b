"""Second-factor management (``/api/v1/2fa/...``): enroll, devices, backup codes, disable."""

from __future__ import annotations

import base64

from fastapi import APIRouter, Response, status

from twostep.services import backup_codes, devices, enrollment
from twostep.web import flows, schemas
from twostep.web.api.routing import EDGE_ERRORS, ApiRoute
from twostep.web.deps import AnyPrincipal, CurrentPrincipal, RequestOrigin, State

router = APIRouter(prefix="/2fa", tags=["2fa"], route_class=ApiRoute, responses=EDGE_ERRORS)


@router.post("/setup", status_code=status.HTTP_201_CREATED)
def setup(
    body: schemas.SetupBody, principal: AnyPrincipal, state: State, origin: RequestOrigin
) -> schemas.SetupResponse:
    """Start enrolling an authenticator: the key, its otpauth URI and QR codes."""
    started = enrollment.begin(state.ctx, principal, body.device_name, origin)
    png = base64.b64encode(started.qr_png).decode("ascii")
    return schemas.SetupResponse(
        device_id=started.device_id,
        device_name=started.device_name,
        secret=started.secret,
        otpauth_uri=started.otpauth_uri,
        qr_svg=started.qr_svg,
        qr_png=f"data:image/png;base64,{png}",
    )


@router.post("/setup/confirm")
def confirm(
    body: schemas.SetupConfirm, principal: AnyPrincipal, state: State, origin: RequestOrigin
) -> schemas.SetupConfirmed:
    """Activate the device with its first code; backup codes come back once, on the first."""
    done = flows.confirm_device(state, origin, principal, body.device_id, body.code)
    return schemas.SetupConfirmed(device_id=done.device_id, backup_codes=done.backup_codes)


@router.get("/devices")
def list_devices(principal: CurrentPrincipal, state: State) -> list[schemas.Device]:
    """The caller's authenticators (never their secrets)."""
    return [
        schemas.Device(
            id=d.id,
            name=d.name,
            type=d.kind,
            status=d.status,
            created_at=d.created_at,
            confirmed_at=d.confirmed_at,
            last_used_at=d.last_used_at,
        )
        for d in devices.list_devices(state.ctx, principal)
    ]


@router.patch("/devices/{device_id}", status_code=status.HTTP_204_NO_CONTENT)
def rename_device(
    device_id: schemas.PathId,
    body: schemas.RenameDevice,
    principal: CurrentPrincipal,
    state: State,
    origin: RequestOrigin,
) -> Response:
    """Rename a device."""
    devices.rename(state.ctx, principal, device_id, body.name, origin)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.delete("/devices/{device_id}", status_code=status.HTTP_204_NO_CONTENT)
def remove_device(
    device_id: schemas.PathId, principal: CurrentPrincipal, state: State, origin: RequestOrigin
) -> Response:
    """Remove a device (elevated); removing the last one turns 2FA off."""
    devices.remove(state.ctx, principal, device_id, origin)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/disable", status_code=status.HTTP_204_NO_CONTENT)
def disable(principal: CurrentPrincipal, state: State, origin: RequestOrigin) -> Response:
    """Turn 2FA off: every device and backup code goes (elevated)."""
    devices.disable_two_factor(state.ctx, principal, origin)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/backup-codes")
def backup_status(principal: CurrentPrincipal, state: State) -> schemas.BackupStatusResponse:
    """How many backup codes are left."""
    current = backup_codes.backup_status(state.ctx, principal)
    return schemas.BackupStatusResponse(
        remaining=current.remaining, total=current.total, created_at=current.created_at
    )


@router.post("/backup-codes/regenerate")
def regenerate(
    principal: CurrentPrincipal, state: State, origin: RequestOrigin
) -> schemas.BackupCodes:
    """A new batch of backup codes (elevated); the old batch stops working."""
    return schemas.BackupCodes(backup_codes=backup_codes.regenerate(state.ctx, principal, origin))
