"""``/admin/audit``: the audit log with filters, pagination, and CSV / JSON export.

Filters travel in the query string, so a filtered view can be bookmarked, paged and
exported as is: the export links carry exactly the filters of the page. User ids in the
log are labelled with the account's email when the account still exists (one lookup per
page).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from twostep.errors import InvalidInput
from twostep.services import sessions, stats
from twostep.web.deps import State
from twostep.web.pages.admin.deps import Admin, details_text, page_link
from twostep.web.pages.admin.export import Export
from twostep.web.pages.admin.filters import (
    OUTCOMES,
    AuditFilters,
    AuditQuery,
    Filters,
    empty_page,
    event_choices,
    resolve,
)
from twostep.web.pages.deps import PagesDep
from twostep.web.pages.routing import PageRoute, Problem, describe

router = APIRouter(route_class=PageRoute, include_in_schema=False)

PER_PAGE = 50
PRESETS = (("Last hour", timedelta(hours=1)), ("24 hours", timedelta(days=1)),
           ("7 days", timedelta(days=7)), ("30 days", timedelta(days=30)))  # fmt: skip


def _link(base: str, params: dict[str, str | int]) -> str:
    return page_link(base, params, 1)


@router.get("/admin/audit")
def audit_page(
    request: Request,
    pages: PagesDep,
    state: State,
    principal: Admin,
    typed: Filters,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> Response:
    """Audit events, newest first, filtered by event, user, outcome and time range."""
    ctx = state.ctx
    problem: Problem | None = None
    query: AuditQuery | None = None
    try:
        query = resolve(ctx, principal, typed)
    except InvalidInput as exc:
        problem = describe(exc)
    found = query.fetch(ctx, principal, page=page, per_page=PER_PAGE) if query is not None else None
    found = found or empty_page(PER_PAGE)
    ids = {i for e in found.items for i in (e.user_id, e.actor_id) if i}
    params = typed.params()
    now = ctx.clock.now()
    presets = [
        (
            label,
            _link("/admin/audit", {**params, "since": f"{now - span:%Y-%m-%dT%H:%M}", "until": ""}),
        )
        for label, span in PRESETS
    ]
    values = {
        "found": found,
        "typed": typed,
        "events": event_choices(typed.event),
        "outcomes": OUTCOMES,
        "emails": stats.user_emails(ctx, principal, ids) if ids else {},
        "no_such_user": query is None and problem is None,
        "error": problem.message if problem else None,
        "error_field": problem.field if problem else None,
        "presets": presets,
        "csv": _link("/admin/audit/export.csv", params),
        "json": _link("/admin/audit/export.json", params),
        "first_row": (page - 1) * PER_PAGE + 1,
        "last_row": (page - 1) * PER_PAGE + len(found.items),
        "previous": page_link("/admin/audit", params, page - 1) if page > 1 else None,
        "next": page_link("/admin/audit", params, page + 1) if page < found.pages else None,
        "first": page_link("/admin/audit", params, 1),
        "page": page,
        "details_text": details_text,
    }
    status = problem.status if problem else 200
    return pages.render(request, "admin/audit.html", values, status=status, principal=principal)


def _export(state: State, principal: sessions.Principal, typed: AuditFilters) -> Export:
    return Export(state.ctx, principal, resolve(state.ctx, principal, typed), state.ctx.clock.now())


@router.get("/admin/audit/export.csv")
def export_csv(state: State, principal: Admin, typed: Filters) -> Response:
    """The filtered events as CSV (spreadsheet-safe cells), as a download."""
    return _export(state, principal, typed).response(typed, "csv")


@router.get("/admin/audit/export.json")
def export_json(state: State, principal: Admin, typed: Filters) -> Response:
    """The filtered events as one JSON document, as a download."""
    return _export(state, principal, typed).response(typed, "json")
