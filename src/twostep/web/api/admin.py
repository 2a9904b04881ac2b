"""Operator endpoints (``/api/v1/admin/...``): users, their 2FA and sessions, the audit log.

Reads need the admin role; actions also need the admin's own session elevated. Every action
is audited by the service with the admin as actor.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel, ConfigDict

from twostep.services import admin
from twostep.web import schemas
from twostep.web.api.routing import EDGE_ERRORS, ApiRoute
from twostep.web.deps import AdminPrincipal, RequestOrigin, State

router = APIRouter(prefix="/admin", tags=["admin"], route_class=ApiRoute, responses=EDGE_ERRORS)

Page = Annotated[int, Query(ge=1, le=1_000_000)]
PerPage = Annotated[int, Query(ge=1, le=admin.MAX_PER_PAGE)]
UserId = Annotated[str, Query(max_length=64, pattern=schemas.PRINTABLE)]
Since = Annotated[
    schemas.Instant | None, Query(description="Events at or after this time (with a zone).")
]
Until = Annotated[
    schemas.Instant | None, Query(description="Events before this time (with a zone).")
]


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class AdminUser(Out):
    id: str
    email: str
    email_verified_at: datetime | None
    role: str
    is_active: bool
    created_at: datetime
    active_devices: int
    two_factor_enabled: bool
    locked_until: datetime | None


class UserPage(Out):
    items: list[AdminUser]
    total: int
    page: int
    per_page: int
    pages: int


class AuditEventOut(Out):
    id: int
    at: datetime
    event: str
    outcome: str
    user_id: str | None
    actor_id: str | None
    ip: str | None
    user_agent: str | None
    details: dict[str, Any]


class AuditPage(Out):
    items: list[AuditEventOut]
    total: int
    page: int
    per_page: int
    pages: int


class AdminSession(Out):
    id: str
    purpose: str
    amr: list[str]
    created_at: datetime
    last_seen_at: datetime | None
    expires_at: datetime
    elevated_until: datetime | None
    ip: str | None
    user_agent: str | None


class UserDetail(Out):
    account: AdminUser
    devices: list[schemas.Device]
    backup: schemas.BackupStatusResponse
    sessions: list[AdminSession]
    recent_events: list[AuditEventOut]
    factor_failures: int


@router.get("/users")
def list_users(
    principal: AdminPrincipal,
    state: State,
    query: Annotated[str | None, Query(max_length=320, pattern=schemas.PRINTABLE)] = None,
    two_factor: Literal["enabled", "disabled", "locked"] | None = None,
    page: Page = 1,
    per_page: PerPage = 50,
) -> UserPage:
    """Users with their 2FA and lock state; search by email, filter, paginate."""
    found = admin.list_users(
        state.ctx, principal, query=query, two_factor=two_factor, page=page, per_page=per_page
    )
    return UserPage.model_validate(found)


@router.get("/users/{user_id}")
def user_detail(user_id: schemas.PathId, principal: AdminPrincipal, state: State) -> UserDetail:
    """One user: devices, backup codes, sessions, recent events."""
    return UserDetail.model_validate(admin.user_detail(state.ctx, principal, user_id))


@router.post("/users/{user_id}/reset-2fa", status_code=status.HTTP_204_NO_CONTENT)
def reset_two_factor(
    user_id: schemas.PathId, principal: AdminPrincipal, state: State, origin: RequestOrigin
) -> Response:
    """Remove a user's devices and backup codes (they enroll again); signs them out."""
    admin.reset_two_factor(state.ctx, principal, user_id, origin)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/users/{user_id}/unlock", status_code=status.HTTP_204_NO_CONTENT)
def unlock(
    user_id: schemas.PathId, principal: AdminPrincipal, state: State, origin: RequestOrigin
) -> Response:
    """Lift a second-factor lockout."""
    admin.unlock(state.ctx, principal, user_id, origin)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/users/{user_id}/revoke-sessions")
def revoke_sessions(
    user_id: schemas.PathId, principal: AdminPrincipal, state: State, origin: RequestOrigin
) -> schemas.Count:
    """Sign a user out everywhere."""
    return schemas.Count(count=admin.revoke_sessions(state.ctx, principal, user_id, origin))


@router.post("/users/{user_id}/role", status_code=status.HTTP_204_NO_CONTENT)
def set_role(
    user_id: schemas.PathId,
    body: schemas.SetRole,
    principal: AdminPrincipal,
    state: State,
    origin: RequestOrigin,
) -> Response:
    """Promote or demote (the last admin cannot be demoted)."""
    admin.set_role(state.ctx, principal, user_id, body.role, origin)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/users/{user_id}/active", status_code=status.HTTP_204_NO_CONTENT)
def set_active(
    user_id: schemas.PathId,
    body: schemas.SetActive,
    principal: AdminPrincipal,
    state: State,
    origin: RequestOrigin,
) -> Response:
    """Deactivate (signs the user out) or reactivate an account."""
    admin.set_active(state.ctx, principal, user_id, body.active, origin)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/audit")
def audit_log(
    principal: AdminPrincipal,
    state: State,
    event: Annotated[str | None, Query(max_length=100, pattern=schemas.PRINTABLE)] = None,
    user_id: UserId | None = None,
    outcome: Annotated[str | None, Query(max_length=20, pattern=schemas.PRINTABLE)] = None,
    since: Since = None,
    until: Until = None,
    page: Page = 1,
    per_page: PerPage = 50,
) -> AuditPage:
    """The audit log, newest first, with filters (times are ISO 8601 with a zone)."""
    found = admin.audit_log(
        state.ctx, principal, event=event, user_id=user_id, outcome=outcome,
        since=since, until=until, page=page, per_page=per_page,
    )  # fmt: skip
    return AuditPage.model_validate(found)
