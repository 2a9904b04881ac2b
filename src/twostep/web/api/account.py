"""The caller's own account (``/api/v1/me...``): profile, sessions, password, email."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from twostep.services import accounts, sessions
from twostep.web import flows, schemas
from twostep.web.api.routing import EDGE_ERRORS, ApiRoute
from twostep.web.deps import AnyPrincipal, CurrentPrincipal, RequestOrigin, State

router = APIRouter(prefix="/me", tags=["account"], route_class=ApiRoute, responses=EDGE_ERRORS)


@router.get("")
def me(principal: AnyPrincipal) -> schemas.Me:
    """Who is signed in, and the state of this session."""
    user, session = principal.user, principal.session
    return schemas.Me(
        id=user.id,
        email=user.email,
        email_verified=user.email_verified_at is not None,
        role=user.role,
        two_factor_enabled=principal.two_factor,
        session_id=session.id,
        session_purpose=session.purpose,
        elevated_until=session.elevated_until,
    )


@router.get("/sessions")
def list_sessions(principal: CurrentPrincipal, state: State) -> list[schemas.MySession]:
    """The caller's live sessions, newest first."""
    return [
        schemas.MySession(
            id=s.id,
            current=s.id == principal.session.id,
            amr=list(s.amr),
            created_at=s.created_at,
            last_seen_at=s.last_seen_at,
            expires_at=s.expires_at,
            ip=s.ip,
            user_agent=s.user_agent,
        )
        for s in sessions.list_active(state.ctx, principal.user.id)
    ]


@router.post("/sessions/revoke-others")
def revoke_others(
    principal: CurrentPrincipal, state: State, origin: RequestOrigin
) -> schemas.Count:
    """Sign out everywhere else."""
    return schemas.Count(count=sessions.revoke_others(state.ctx, principal, origin))


@router.delete("/sessions/{session_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_session(
    session_id: schemas.PathId, principal: CurrentPrincipal, state: State, origin: RequestOrigin
) -> Response:
    """Sign one of the caller's sessions out."""
    sessions.revoke(state.ctx, principal, session_id, origin)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/password", status_code=status.HTTP_204_NO_CONTENT)
def change_password(
    body: schemas.ChangePassword, principal: CurrentPrincipal, state: State, origin: RequestOrigin
) -> Response:
    """Change the password (elevated, and with the current password)."""
    accounts.change_password(state.ctx, principal, body.current_password, body.new_password, origin)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/email", status_code=status.HTTP_202_ACCEPTED)
def change_email(
    body: schemas.ChangeEmail, principal: CurrentPrincipal, state: State, origin: RequestOrigin
) -> schemas.CodeSent:
    """Start an address change (elevated): a code goes to the new address.

    A free and a taken address get the same answer (the owner of a taken one is told
    instead); requests are limited per account, and per new address by a cooldown.
    """
    started = flows.change_email(state, origin, principal, body.new_email, password=body.password)
    return schemas.CodeSent(expires_in=started.expires_in, resend_after=0)


@router.post("/email/confirm")
def confirm_email(
    body: schemas.ConfirmEmail, principal: CurrentPrincipal, state: State, origin: RequestOrigin
) -> schemas.Verified:
    """Finish an address change with the code sent to the new address."""
    done = flows.confirm_email_change(state, origin, principal, body.new_email, body.code)
    return schemas.Verified(email=done.email)
