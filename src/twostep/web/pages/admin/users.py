"""``/admin/users``: find an account; ``/admin/users/{id}``: everything needed to help it.

The list keeps its search, filter and page size in every pagination link, so paging never
drops a filter. The detail page shows devices (never secrets), backup-code counts, live
sessions, the lock, recent audit events and the actions the account can take (see
:mod:`.actions`); a finished action comes back here with a ``done`` key whose text is fixed
on the server (no text is taken from the URL).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from twostep.services import admin, stats
from twostep.web.deps import State
from twostep.web.pages.admin.actions import ACTIONS, done_message
from twostep.web.pages.admin.deps import Admin, page_link
from twostep.web.pages.deps import PagesDep
from twostep.web.pages.routing import PageRoute

router = APIRouter(route_class=PageRoute, include_in_schema=False)

PER_PAGE = 25
SORTS: dict[admin.UserSort, str] = {
    "created": "Oldest first",
    "newest": "Newest first",
    "email": "Email, A to Z",
    "last_sign_in": "Signed in most recently",
    "idle": "Longest since sign-in",
}
FILTERS: dict[admin.TwoFactorFilter, str] = {
    "enabled": "2FA on",
    "disabled": "2FA off",
    "locked": "Locked out",
}


@router.get("/admin/users")
def users_page(
    request: Request,
    pages: PagesDep,
    state: State,
    principal: Admin,
    q: Annotated[str, Query(max_length=320)] = "",
    two_factor: Annotated[str, Query(max_length=16)] = "",
    sort: Annotated[str, Query(max_length=16)] = "",
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=admin.MAX_PER_PAGE)] = PER_PAGE,
) -> Response:
    """Accounts: search by email, filter by 2FA or lock state, sort, paginate."""
    chosen = next((key for key in FILTERS if key == two_factor), None)
    order: admin.UserSort = next((key for key in SORTS if key == sort), "created")
    found = admin.list_users(
        state.ctx, principal, query=q.strip() or None, two_factor=chosen, sort=order,
        page=page, per_page=per_page,
    )  # fmt: skip
    params: dict[str, str | int] = {
        "q": q.strip(),
        "two_factor": chosen or "",
        "sort": order if order != "created" else "",
        "per_page": per_page if per_page != PER_PAGE else "",
    }
    values = {
        "found": found,
        "q": q.strip(),
        "two_factor": chosen or "",
        "filters": FILTERS,
        "sorts": SORTS,
        "sort": order,
        "per_page": per_page,
        "first_row": (page - 1) * per_page + 1,
        "last_row": (page - 1) * per_page + len(found.items),
        "previous": page_link("/admin/users", params, page - 1) if page > 1 else None,
        "next": page_link("/admin/users", params, page + 1) if page < found.pages else None,
        "first": page_link("/admin/users", params, 1),
        "filtered": bool(q.strip() or chosen),
    }
    return pages.render(request, "admin/users.html", values, principal=principal)


@router.get("/admin/users/{user_id}")
def user_page(
    request: Request,
    user_id: str,
    pages: PagesDep,
    state: State,
    principal: Admin,
    done: Annotated[str, Query(max_length=32)] = "",
    n: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> Response:
    """One account: devices, backup codes, sessions, lock, recent events and actions."""
    detail = admin.user_detail(state.ctx, principal, user_id[:64])
    actors = {e.actor_id for e in detail.recent_events if e.actor_id}
    values = {
        "detail": detail,
        "account": detail.account,
        "emails": stats.user_emails(state.ctx, principal, actors) if actors else {},
        "actions": [a for a in ACTIONS.values() if a.offered(detail, principal)],
        "notice": done_message(done, detail.account.email, n),
        "is_self": detail.account.id == principal.user.id,
    }
    return pages.render(request, "admin/user.html", values, principal=principal)
