"""Who may open the admin console, and the small request helpers its pages share.

A visitor is sent to sign in (and back here after); a signed-in account without the admin
role gets a 403 page. The role is re-read with the session on every request, so a demoted
or deactivated admin loses the console at once. Actions additionally need the admin's own
session elevated: their confirmation pages send an unconfirmed session to ``/step-up``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import Depends

from twostep.errors import Forbidden
from twostep.services import sessions
from twostep.web.pages.deps import FullUser

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
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


def details_text(details: Mapping[str, Any], limit: int = 240) -> str:
    """An audit row's details on one line: ``failures: 3 · method: otp``.

    >>> details_text({"method": "otp", "failures": 3, "amr": ["pwd", "otp"]})
    'amr: pwd, otp · failures: 3 · method: otp'
    """
    parts = []
    for key, value in sorted(details.items()):
        if isinstance(value, list | tuple):
            shown = ", ".join(str(item) for item in value)
        elif isinstance(value, dict):
            shown = json.dumps(value, sort_keys=True)
        elif isinstance(value, str) and UUID.fullmatch(value):
            shown = value[:8] + "…"  # ids in full are in the export
        else:
            shown = str(value)
        parts.append(f"{key}: {shown}")
    text = " · ".join(parts)
    return text if len(text) <= limit else text[: limit - 1] + "…"
