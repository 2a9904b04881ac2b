"""The audit log's filters: what the form holds, and what the service is asked for.

The form keeps the operator's text (so a page shows back exactly what was typed, and every
link carries it); :func:`resolve` turns it into service arguments. A user may be named by
id or by email address; times are UTC, the zone the page shows them in, typed as
``2026-05-06T14:30`` (what a ``datetime-local`` field sends) or as a date, which for
"until" means the end of that day.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated

from fastapi import Depends, Query

from twostep.clock import MAX_UTC, as_utc
from twostep.errors import InvalidInput
from twostep.services import admin, audit, sessions, stats
from twostep.services.context import Context

OUTCOMES = ("success", "failure", "denied", "info")
EVENTS = tuple(sorted(audit.EVENT_NAMES, key=lambda event: audit.EVENT_NAMES[event]))
"""The event field's choices, by readable name (any exact event name may be asked for)."""


def event_choices(chosen: str) -> list[tuple[str, str]]:
    """``(event, name)`` for the select; an unknown ``chosen`` event is kept as a choice."""
    found = [(event, audit.event_name(event)) for event in EVENTS]
    if chosen and chosen not in audit.EVENT_NAMES:
        found.insert(0, (chosen, audit.event_name(chosen)))
    return found


@dataclass(frozen=True, slots=True)
class AuditFilters:
    """The filter form, as typed."""

    event: str = ""
    user: str = ""
    outcome: str = ""
    since: str = ""
    until: str = ""

    def params(self) -> dict[str, str | int]:
        """The non-empty filters, for links and export URLs."""
        return {key: value for key, value in asdict(self).items() if value}

    @property
    def narrowed(self) -> bool:
        return bool(self.params())


def audit_filters(
    event: Annotated[str, Query(max_length=64)] = "",
    user: Annotated[str, Query(max_length=320)] = "",
    outcome: Annotated[str, Query(max_length=16)] = "",
    since: Annotated[str, Query(max_length=40)] = "",
    until: Annotated[str, Query(max_length=40)] = "",
) -> AuditFilters:
    return AuditFilters(event.strip(), user.strip(), outcome.strip(), since.strip(), until.strip())


Filters = Annotated[AuditFilters, Depends(audit_filters)]


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """Service arguments for :func:`twostep.services.admin.audit_log`."""

    event: str | None
    user_id: str | None
    outcome: str | None
    since: datetime | None
    until: datetime | None

    def fetch(
        self, ctx: Context, principal: sessions.Principal, *, page: int, per_page: int
    ) -> admin.Page[admin.AuditEvent]:
        """One page of the matching events, newest first."""
        return admin.audit_log(
            ctx, principal, event=self.event, user_id=self.user_id, outcome=self.outcome,
            since=self.since, until=self.until, page=page, per_page=per_page,
        )  # fmt: skip


def parse_time(text: str, field: str, *, end: bool = False) -> datetime | None:
    """A UTC time from a form field; a bare date is its start (or, with ``end``, its end).

    >>> parse_time("2026-05-06T14:30", "since").isoformat()
    '2026-05-06T14:30:00+00:00'
    >>> parse_time("2026-05-06", "until", end=True).isoformat()
    '2026-05-07T00:00:00+00:00'
    >>> parse_time("9999-12-31", "until", end=True) == MAX_UTC
    True
    """
    if not text:
        return None
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            if end and day == date.max:
                return MAX_UTC
            return datetime.combine(day + timedelta(days=1 if end else 0), time(), tzinfo=UTC)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(field, "Enter a time like 2026-05-06T14:30 (UTC).") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else as_utc(moment)


def resolve(ctx: Context, principal: sessions.Principal, typed: AuditFilters) -> AuditQuery | None:
    """What to ask the service for; ``None`` when the filter names no account at all."""
    if typed.outcome and typed.outcome not in OUTCOMES:
        raise InvalidInput("outcome", "Choose an outcome from the list.")
    since = parse_time(typed.since, "since")
    until = parse_time(typed.until, "until", end=True)
    if since is not None and until is not None and until <= since:
        raise InvalidInput("until", "The end of the time range must be after its start.")
    user_id: str | None = typed.user[:64] or None
    if "@" in typed.user:
        user_id = stats.user_id_for_email(ctx, principal, typed.user)
        if user_id is None:
            return None
    return AuditQuery(typed.event or None, user_id, typed.outcome or None, since, until)


def empty_page(per_page: int) -> admin.Page[admin.AuditEvent]:
    return admin.Page([], 0, 1, per_page)
