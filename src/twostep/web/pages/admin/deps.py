"""Who may open the admin console, and the small request helpers its pages share.

A visitor is sent to sign in (and back here after); a signed-in account without the admin
role gets a 403 page. The role is re-read with the session on every request, so a demoted
or deactivated admin loses the console at once. Actions additionally need the admin's own
session elevated: their confirmation pages send an unconfirmed session to ``/step-up``.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote, urlencode

from fastapi import Depends

from twostep.errors import Forbidden
from twostep.services import sessions
from twostep.web.pages.deps import FullUser

NOT_AN_ADMIN = (
    "The admin console is for administrators. If you need access, ask an administrator "
    "to give your account the admin role."
)


def get_admin(principal: FullUser) -> sessions.Principal:
    """The signed-in administrator, or a 403 page for anyone else."""
    if principal.user.role != "admin" or not principal.user.is_active:
        raise Forbidden(NOT_AN_ADMIN)
    return principal


Admin = Annotated[sessions.Principal, Depends(get_admin)]
"""A full session of an active account with the admin role."""


def user_url(user_id: str, suffix: str = "", **query: str | int) -> str:
    """``/admin/users/<id><suffix>?<query>``, with the id escaped and empty values left out."""
    path = f"/admin/users/{quote(user_id, safe='')}{suffix}"
    kept = {key: value for key, value in query.items() if value not in ("", None)}
    return f"{path}?{urlencode(kept)}" if kept else path


def page_link(base: str, params: dict[str, str | int], page: int) -> str:
    """``base`` with the same filters and another ``page`` (page 1 is left implicit)."""
    kept = {k: v for k, v in params.items() if v not in ("", None) and k != "page"}
    if page > 1:
        kept["page"] = page
    return f"{base}?{urlencode(kept)}" if kept else base
