"""Audit log exports: the filtered events as CSV or JSON, streamed page by page.

Bounded: at most :data:`EXPORT_LIMIT` rows, read :data:`BATCH` at a time through the same
service call as the page (so the same admin check applies), and never all held in memory.
The export's end is pinned to the moment it starts, so events recorded while it streams do
not shift the pages under it. The first page is read before the response starts, so a
refusal is still an error page rather than a broken download.

CSV cells are safe to open in a spreadsheet: a text cell starting with ``=``, ``+``, ``-``,
``@``, a tab or a carriage return is prefixed with ``'`` so it is never run as a formula
(OWASP "CSV injection"); user agents and event details come from clients.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from itertools import islice
from typing import Any, Literal

from starlette.responses import StreamingResponse

from twostep.services import admin, audit, sessions, stats
from twostep.services.context import Context
from twostep.web.pages.admin.filters import AuditFilters, AuditQuery

EXPORT_LIMIT = 100_000
BATCH = admin.MAX_PER_PAGE
COLUMNS = (
    "id", "at", "event", "event_name", "outcome", "user_id", "user_email", "actor_id",
    "actor_email", "ip", "user_agent", "details",
)  # fmt: skip
"""Each account id has its email beside it (empty once the account is gone)."""
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
Format = Literal["csv", "json"]


def safe_cell(value: object) -> object:
    """``value``, with a leading quote if it is text a spreadsheet would read as a formula.

    >>> safe_cell("=HYPERLINK(1)"), safe_cell("-1"), safe_cell("ok"), safe_cell(7)
    ("'=HYPERLINK(1)", "'-1", 'ok', 7)
    """
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _details(event: admin.AuditEvent) -> str:
    return json.dumps(dict(event.details), sort_keys=True, separators=(",", ":"), default=str)


Labelled = tuple[admin.AuditEvent, Mapping[str, str]]
"""An event and ``{user id: email}`` for the accounts it names."""


def _record(labelled: Labelled) -> dict[str, Any]:
    event, emails = labelled
    found = asdict(event)
    found["at"] = event.at.isoformat()
    found["event_name"] = audit.event_name(event.event)
    found["user_email"] = emails.get(event.user_id or "", "")
    found["actor_email"] = emails.get(event.actor_id or "", "")
    found["details"] = dict(event.details)
    return found


def csv_chunks(events: Iterator[Labelled]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for i, event in enumerate(events, 1):
        row = [*(_record(event)[name] for name in COLUMNS[:-1]), _details(event[0])]
        writer.writerow([safe_cell(cell) for cell in row])
        if i % BATCH == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def json_chunks(events: Iterator[Labelled], head: dict[str, Any]) -> Iterator[str]:
    """``{...head, "items": [...]}``, one event per line."""
    opening = json.dumps({**head, "items": []})[:-2]  # drop the closing "]}"
    yield opening
    for i, event in enumerate(events):
        yield ("," if i else "") + "\n" + json.dumps(_record(event), default=str)
    yield "\n]}\n"


@dataclass(frozen=True, slots=True)
class Export:
    ctx: Context
    principal: sessions.Principal
    query: AuditQuery | None
    at: datetime

    def _pages(
        self, first: admin.Page[admin.AuditEvent], query: AuditQuery
    ) -> Iterator[admin.AuditEvent]:
        yield from first.items
        wanted = min(first.total, EXPORT_LIMIT)
        page = 1
        while page * BATCH < wanted:
            page += 1
            yield from query.fetch(self.ctx, self.principal, page=page, per_page=BATCH).items

    def _labelled(self, events: Iterator[admin.AuditEvent]) -> Iterator[Labelled]:
        """Each event with the emails of its accounts, looked up once per batch."""
        while batch := list(islice(events, BATCH)):
            ids = {i for e in batch for i in (e.user_id, e.actor_id) if i}
            emails = stats.user_emails(self.ctx, self.principal, ids) if ids else {}
            yield from ((event, emails) for event in batch)

    def response(self, typed: AuditFilters, kind: Format) -> StreamingResponse:
        """The download; reads the first batch now, the rest while streaming."""
        events: Iterator[admin.AuditEvent] = iter(())
        total = 0
        if self.query is not None:
            pinned = replace(self.query, until=self.query.until or self.at + timedelta(seconds=1))
            first = pinned.fetch(self.ctx, self.principal, page=1, per_page=BATCH)
            total = first.total
            events = islice(self._pages(first, pinned), EXPORT_LIMIT)
        stamp = self.at.strftime("%Y%m%dT%H%M%SZ")
        headers = {
            "content-disposition": f'attachment; filename="twostep-audit-{stamp}.{kind}"',
            "cache-control": "no-store",
            "x-total-count": str(total),
            "x-truncated": "true" if total > EXPORT_LIMIT else "false",
        }
        labelled = self._labelled(events)
        if kind == "csv":
            return StreamingResponse(
                csv_chunks(labelled), media_type="text/csv; charset=utf-8", headers=headers
            )
        head = {
            "exported_at": self.at.isoformat(),
            "filters": typed.params(),
            "total": total,
            "truncated": total > EXPORT_LIMIT,
        }
        return StreamingResponse(
            json_chunks(labelled, head), media_type="application/json", headers=headers
        )
