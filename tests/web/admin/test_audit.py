"""``/admin/audit``: filters, pagination, and CSV / JSON exports that are safe to open."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import timedelta
from html import unescape

import pytest

from tests.web.admin.conftest import EMAIL, Console
from tests.web.conftest import T0
from twostep.store import audit
from twostep.web.pages.admin.deps import details_text
from twostep.web.pages.admin.export import BATCH, safe_cell
from twostep.web.pages.admin.filters import parse_time

EVENT = re.compile(r'<span class="event" title="([a-z_.]+)">')
NEXT = re.compile(r'href="([^"]+)" rel="next"')


def add_events(console: Console, n: int, outcome: str = "failure") -> None:
    """``n`` real audit rows for the user, one second apart, up to the clock's time."""
    at = console.admin.clock.now()
    with console.ctx.db.transaction() as tx:
        for i in range(n):
            audit.record(
                tx, event="login.password", outcome=outcome, at=at - timedelta(seconds=i),
                user_id=console.user_id,
            )  # fmt: skip


def events_on(html: str) -> list[str]:
    return EVENT.findall(html)


def test_filters_by_event_user_outcome_and_time(console: Console) -> None:
    admin = console.admin
    everything = events_on(admin.get("/admin/audit").text)
    assert "session.created" in everything and "device.confirm" in everything

    assert set(events_on(admin.get("/admin/audit?event=device.confirm").text)) == {"device.confirm"}
    by_email = admin.get(f"/admin/audit?user={EMAIL.upper()}").text
    by_id = admin.get(f"/admin/audit?user={console.user_id}").text
    assert events_on(by_email) == events_on(by_id) and "account.register" in events_on(by_id)
    assert "No account has the address" in admin.get("/admin/audit?user=x@example.com").text

    console.admin.clock.advance(3600)
    add_events(console, 2)
    failures = events_on(admin.get("/admin/audit?outcome=failure").text)
    assert failures == ["login.password", "login.password"]
    later = f"{T0 + timedelta(minutes=30):%Y-%m-%dT%H:%M}"
    assert events_on(admin.get(f"/admin/audit?since={later}").text) == failures
    assert events_on(admin.get(f"/admin/audit?until={later}").text) == everything
    today = f"{T0:%Y-%m-%d}"
    assert (
        len(events_on(admin.get(f"/admin/audit?since={today}&until={today}").text))
        == len(everything) + 2
    )


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("since=yesterday", "Enter a time like 2026-05-06T14:30 (UTC)."),
        ("since=2026-05-07&until=2026-05-06", "The end of the time range must be after"),
        ("outcome=maybe", "Choose an outcome from the list."),
    ],
)
def test_a_filter_that_makes_no_sense_is_explained(
    console: Console, query: str, message: str
) -> None:
    page = console.admin.get(f"/admin/audit?{query}")
    assert page.status_code == 422 and message in page.text
    assert console.admin.get(f"/admin/audit/export.csv?{query}").status_code == 422


def test_pagination_keeps_the_filters(console: Console) -> None:
    add_events(console, 120)
    admin, seen = console.admin, 0
    url: str | None = f"/admin/audit?event=login.password&user={EMAIL}&outcome=failure"
    pages = 0
    while url:
        page = admin.get(url).text
        seen += len(events_on(page))
        pages += 1
        found = NEXT.search(page)
        url = unescape(found.group(1)) if found else None
        assert url is None or all(
            kept in url for kept in ("event=login.password", "user=robin%40", "outcome=failure")
        )
    assert (seen, pages) == (120, 3)


def test_csv_export_is_an_attachment_of_the_filtered_rows_with_formulas_defused(
    console: Console,
) -> None:
    add_events(console, 2 * BATCH + 5)
    with console.ctx.db.transaction() as tx:
        for hostile in ('=HYPERLINK("http://x")', "+1+1", "-2", "@SUM(A1)", "\tTAB"):
            audit.record(
                tx, event="login.password", outcome="failure", at=console.admin.clock.now(),
                user_id=console.user_id, user_agent=hostile, ip=hostile[:5],
            )  # fmt: skip
    query = f"event=login.password&user={EMAIL}&outcome=failure"
    reply = console.admin.get(f"/admin/audit/export.csv?{query}")

    assert reply.status_code == 200
    assert reply.headers["content-type"] == "text/csv; charset=utf-8"
    assert re.fullmatch(
        r'attachment; filename="twostep-audit-\d{8}T\d{6}Z\.csv"',
        reply.headers["content-disposition"],
    )
    assert reply.headers["cache-control"] == "no-store"
    rows = list(csv.DictReader(io.StringIO(reply.text)))
    assert len(rows) == 2 * BATCH + 10 == int(reply.headers["x-total-count"])
    assert len({row["id"] for row in rows}) == len(rows)  # pages never overlap
    assert {row["user_id"] for row in rows} == {console.user_id}
    agents = {row["user_agent"] for row in rows} - {""}
    assert agents == {'\'=HYPERLINK("http://x")', "'+1+1", "'-2", "'@SUM(A1)", "'\tTAB"}
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row.values())


def test_json_export_carries_the_filters_and_every_row(console: Console) -> None:
    add_events(console, BATCH + 1, outcome="denied")
    reply = console.admin.get("/admin/audit/export.json?outcome=denied")
    assert reply.status_code == 200
    assert reply.headers["content-type"] == "application/json"
    assert reply.headers["content-disposition"].endswith('.json"')
    body = json.loads(reply.text)
    assert body["filters"] == {"outcome": "denied"}
    assert body["total"] == BATCH + 1 == len(body["items"]) and body["truncated"] is False
    first = body["items"][0]
    assert set(first) == {
        "id", "at", "event", "event_name", "outcome", "user_id", "user_email", "actor_id",
        "actor_email", "ip", "user_agent", "details",
    }  # fmt: skip
    assert first["user_email"] == EMAIL and first["event_name"] == "Sign-in: password"
    assert first["at"] == console.admin.clock.now().isoformat()  # newest first
    assert first["user_id"] == console.user_id

    nobody = json.loads(console.admin.get("/admin/audit/export.json?user=x@example.com").text)
    assert (nobody["total"], nobody["items"]) == (0, [])


def test_the_page_links_its_exports_with_the_same_filters(console: Console) -> None:
    page = console.admin.get(f"/admin/audit?event=session.created&user={EMAIL}").text
    assert 'href="/admin/audit/export.csv?event=session.created&amp;user=robin%40example.com"' in (
        page
    )
    assert "/admin/audit/export.json?event=session.created" in page


def test_cells_times_and_details_helpers() -> None:
    assert [safe_cell(v) for v in ("=1", "+1", "-1", "@a", "\r", "a=1", "", 5)] == [
        "'=1", "'+1", "'-1", "'@a", "'\r", "a=1", "", 5,
    ]  # fmt: skip
    assert parse_time("", "since") is None
    assert parse_time("2026-05-06T14:30+02:00", "since") == parse_time("2026-05-06T12:30", "x")
    assert parse_time("2026-05-06", "until", end=True) == parse_time("2026-05-07T00:00", "x")
    uuid = "0265750b-ce93-4512-85d1-c17846803887"
    assert details_text({"device_id": uuid, "amr": ["pwd", "otp"], "n": {"a": 1}}) == (
        "amr: pwd, otp · device id: 0265750b… · n: a 1"
    )
    shown = details_text({"reason": "email_in_use", "forced": True, "left": None, "l": [{"k": 1}]})
    assert shown == "forced: yes · l: k 1 · left: none · reason: email in use"
    assert details_text({"x": "y" * 500}).endswith("…")


@pytest.mark.parametrize(
    "query",
    [
        "until=9999-12-31T23:59:59-01:00",
        "until=9999-12-31",
        "since=0001-01-01T00:00%2B14:00",
        "since=0001-01-01&until=9999-12-31T23:59:59.999999-14:00",
    ],
)
def test_times_at_the_ends_of_the_calendar_filter_nothing_out(console: Console, query: str) -> None:
    admin = console.admin
    everything = events_on(admin.get("/admin/audit").text)
    page = admin.get(f"/admin/audit?{query}")
    assert page.status_code == 200 and events_on(page.text) == everything
    for kind in ("csv", "json"):
        export = admin.get(f"/admin/audit/export.{kind}?{query}")
        assert export.status_code == 200
        assert int(export.headers["x-total-count"]) >= len(everything)


def test_events_have_readable_names_times_in_utc_and_details_as_text(console: Console) -> None:
    with console.ctx.db.transaction() as tx:
        audit.record(
            tx, event="email.change_requested", outcome="denied",
            at=console.admin.clock.now(), user_id=console.user_id,
            details={"reason": "email_in_use", "forced": True},
        )  # fmt: skip
    page = console.admin.get("/admin/audit").text
    assert ">Sign-in: second factor</span>" in page and ">Authenticator app added</span>" in page
    assert '<code class="event">' not in page
    assert "All times are UTC, here and in the filters." in page
    assert 'data-local="datetime"' not in page  # no conversion to the browser's zone
    assert re.search(r'<time datetime="[^"]+" class="utc">\d{4}-\d\d-\d\d \d\d:\d\d <abbr', page)
    assert "reason: email in use · " not in page and "forced: yes · reason: email in use" in page
    assert "{&#39;" not in page and "True" not in page
    assert '<option value="login.factor">Sign-in: second factor</option>' in page
    assert ">Refused</span>" in page
    chosen = console.admin.get("/admin/audit?event=custom.thing").text
    assert '<option value="custom.thing" selected>Custom: thing</option>' in chosen


def test_the_csv_export_puts_the_email_beside_each_user_id(console: Console) -> None:
    reply = console.admin.get(f"/admin/audit/export.csv?user={EMAIL}")
    rows = list(csv.DictReader(io.StringIO(reply.text)))
    assert rows and {row["user_email"] for row in rows} == {EMAIL}
    header = reply.text.splitlines()[0].split(",")
    assert header.index("user_email") == header.index("user_id") + 1
    assert header.index("actor_email") == header.index("actor_id") + 1
    names = {row["event"]: row["event_name"] for row in rows}
    assert names["session.created"] == "Session started"
