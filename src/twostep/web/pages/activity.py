"""The user's own recent security activity: sign-ins, factor changes, resets.

Rows come from the audit log, the user's own only (:func:`twostep.services.audit.user_activity`),
named with the same table the admin console uses. Addresses and browsers are shown the way
security emails show them: an IP literal, and a browser summary from a fixed vocabulary.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import datetime

from fastapi import APIRouter, Request
from starlette.responses import Response

from twostep.mail.useragent import describe_agent, shown_ip
from twostep.services import audit, sessions
from twostep.services.context import Context
from twostep.web.deps import State
from twostep.web.pages.deps import FullUser, PagesDep
from twostep.web.pages.routing import PageRoute

router = APIRouter(route_class=PageRoute, include_in_schema=False)

PAGE_SIZE = 50


def place(ip: str | None) -> str | None:
    """Where an address is, as far as we can say without a location database.

    >>> place("127.0.0.1"), place("10.1.2.3"), place("9.9.9.9"), place("nope")
    ('this computer (127.0.0.1)', 'a local network (10.1.2.3)', '9.9.9.9', None)
    """
    shown = shown_ip(ip)
    if shown is None:
        return None
    address = ipaddress.ip_address(shown)
    if address.is_loopback:
        return f"this computer ({shown})"
    if address.is_private or address.is_link_local:
        return f"a local network ({shown})"
    return shown


@dataclass(frozen=True, slots=True)
class ActivityRow:
    """One event as the page shows it."""

    at: datetime
    name: str
    outcome: str
    browser: str | None
    ip: str | None
    by_admin: bool


def recent(ctx: Context, principal: sessions.Principal, limit: int) -> list[ActivityRow]:
    """The caller's newest events, with browsers summarised and only IP literals shown."""
    return [
        ActivityRow(
            at=item.at,
            name=item.name,
            outcome=item.outcome,
            browser=describe_agent(item.user_agent),
            ip=shown_ip(item.ip),
            by_admin=item.by_admin,
        )  # fmt: skip
        for item in audit.user_activity(ctx, principal, limit=limit)
    ]


@router.get("/account/activity")
def activity_page(request: Request, pages: PagesDep, state: State, principal: FullUser) -> Response:
    """The newest security events of the signed-in user."""
    found = recent(state.ctx, principal, PAGE_SIZE)
    return pages.render(
        request, "account_activity.html", {"activity": found, "limit": PAGE_SIZE},
        principal=principal,
    )  # fmt: skip
