"""Who may open the admin console, and the small request helpers its pages share.

A visitor is sent to sign in (and back here after); a signed-in account without the admin
role gets a 403 page; an administrator whose session did not prove a second factor confirms
with a code first (one without a device was sent to enrol at sign-in). The role is re-read
with the session on every request, so a demoted or deactivated admin loses the console at
once. Actions additionally need the admin's own
session elevated: their confirmation pages send an unconfirmed session to ``/step-up``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import Depends, Request

from twostep.errors import Forbidden, MissingClaim
from twostep.services import sessions
from twostep.web.pages.deps import FullUser
from twostep.web.pages.routing import PageRedirect, step_up_url

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
NOT_AN_ADMIN = (
    "The admin console is for administrators. If you need access, ask an administrator "
    "to give your account the admin role."
)


def get_admin(request: Request, principal: FullUser) -> sessions.Principal:
    """The signed-in administrator, or a 403 page for anyone else.

    The console needs a session that proved a second factor (``amr``): an administrator
    signed in with a password alone confirms with a code first, and comes back here.
    """
    if principal.user.role != "admin" or not principal.user.is_active:
        raise Forbidden(NOT_AN_ADMIN)
    try:
        sessions.require_admin(principal)
    except MissingClaim:
        here = request.url.path if request.method == "GET" else "/admin"
        raise PageRedirect(step_up_url(here)) from None
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


def details_text(details: Mapping[str, Any], limit: int = 240) -> str:
    """An audit row's details on one line, as words: ``failures: 3 · method: otp``.

    Values are text, never Python reprs: lists are joined, nested mappings spelled out,
    ``True``/``False``/``None`` read as yes, no and none, ``snake_case`` words get spaces.

    >>> details_text({"method": "otp", "failures": 3, "amr": ["pwd", "otp"]})
    'amr: pwd, otp · failures: 3 · method: otp'
    >>> details_text({"reason": "email_in_use", "forced": True, "by": {"role": "admin"}})
    'by: role admin · forced: yes · reason: email in use'
    """
    parts = [
        f"{key.replace('_', ' ')}: {_as_text(value)}" for key, value in sorted(details.items())
    ]
    text = " · ".join(parts)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _as_text(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None:
        return "none"
    if isinstance(value, list | tuple | set):
        return ", ".join(_as_text(item) for item in value) or "none"
    if isinstance(value, Mapping):
        return ", ".join(f"{k.replace('_', ' ')} {_as_text(v)}" for k, v in sorted(value.items()))
    if isinstance(value, str) and UUID.fullmatch(value):
        return value[:8] + "…"  # ids in full are in the export
    if isinstance(value, str) and re.fullmatch(r"[a-z0-9]+(?:_[a-z0-9]+)+", value):
        return value.replace("_", " ")
    return str(value)
