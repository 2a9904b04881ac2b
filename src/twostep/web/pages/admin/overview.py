"""``/admin``: headline numbers and three charts, each with its data as a table.

The charts answer three questions an operator asks first: is 2FA adoption growing, are
sign-ins failing more than usual right now, and are accounts getting locked out. All times
are UTC buckets (:mod:`twostep.services.stats`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from fastapi import APIRouter, Request
from markupsafe import Markup
from starlette.responses import Response

from twostep.services import devices, stats
from twostep.web.deps import State
from twostep.web.pages.admin import charts
from twostep.web.pages.admin.deps import Admin
from twostep.web.pages.deps import PagesDep
from twostep.web.pages.routing import PageRoute

router = APIRouter(route_class=PageRoute, include_in_schema=False)


@dataclass(frozen=True, slots=True)
class Figure:
    """A chart, its legend, and the same numbers as table rows."""

    id: str
    title: str
    summary: str
    svg: Markup
    legend: list[tuple[str, str]]
    columns: list[str]
    rows: list[list[str]]


def day_label(day: date) -> str:
    return f"{day.day} {day:%b %Y}"


def _short_day(day: date) -> str:
    return f"{day.day} {day:%b}"


def _hour_label(hour: datetime) -> str:
    return f"{hour.day} {hour:%b}, {hour:%H}:00–{(hour.hour + 1) % 24:02d}:00 UTC"


def _share(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def adoption_figure(days: list[stats.AdoptionDay]) -> Figure:
    last = days[-1]
    counted = [d for d in days if d.share is not None]
    first = counted[0] if counted else days[0]
    if last.share is None or first.share is None:
        summary = "No accounts yet."
    else:
        moved = round((last.share - first.share) * 100)
        trend = (
            f"up {moved} points" if moved > 0 else f"down {-moved} points" if moved < 0
            else "unchanged"
        )  # fmt: skip
        since = "since" if first is days[0] else "since the first account, on"
        change = (
            "the first account was made that day"
            if first is last
            else f"{trend} {since} {day_label(first.day)}"
        )
        summary = (
            f"On {day_label(last.day)}, {last.share:.0%} of accounts ({last.with_two_factor} "
            f"of {last.users}) had two-step verification: {change}."
        )
    n = len(days)
    points = [
        charts.Point(day_label(d.day), _short_day(d.day) if (n - 1 - i) % 7 == 0 else None)
        for i, d in enumerate(days)
    ]
    tips = [
        f"{day_label(d.day)}: {_share(d.share)} ({d.with_two_factor} of {d.users} accounts)"
        if d.users
        else f"{day_label(d.day)}: no accounts yet"
        for d in days
    ]
    title = "Share of accounts with two-step verification"
    svg = charts.area("chart-adoption", title, summary, points, [d.share for d in days], tips=tips)
    rows = [[day_label(d.day), str(d.users), str(d.with_two_factor), _share(d.share)] for d in days]
    columns = ["Day (UTC)", "Accounts", "With 2FA", "Share"]
    return Figure("chart-adoption", title, summary, svg, [], columns, rows)


def checks_figure(hours: list[stats.HourOfChecks]) -> Figure:
    total = sum(h.total for h in hours)
    failed = sum(h.failure for h in hours)
    refused = sum(h.denied for h in hours)
    if total:
        busiest = max(hours, key=lambda h: h.total)
        summary = (
            f"{total} second-factor checks in the last {len(hours)} hours: {failed} failed and "
            f"{refused} were refused while locked ({(failed + refused) / total:.0%}). Busiest "
            f"hour: {_hour_label(busiest.hour)}, with {busiest.total}."
        )
    else:
        summary = f"No second-factor checks in the last {len(hours)} hours."
    points = [
        charts.Point(
            _hour_label(h.hour),
            (_short_day(h.hour.date()) if h.hour.hour == 0 else f"{h.hour:%H}:00")
            if h.hour.hour % 12 == 0
            else None,
        )
        for h in hours
    ]
    tips = [
        f"{_hour_label(h.hour)}: {h.success} succeeded, {h.failure} failed, "
        f"{h.denied} refused while locked"
        for h in hours
    ]
    series = [
        charts.Series("Succeeded", "ok", [h.success for h in hours]),
        charts.Series("Failed", "fail", [h.failure for h in hours]),
        charts.Series("Refused while locked", "denied", [h.denied for h in hours]),
    ]
    title = "Second-factor checks per hour"
    svg = charts.bars(
        "chart-checks", title, summary, points, series, tips=tips,
        empty="No checks in the last 48 hours",
    )  # fmt: skip
    legend = [(s.name, s.css) for s in series]
    rows = [[_hour_label(h.hour), str(h.success), str(h.failure), str(h.denied)] for h in hours]
    columns = ["Hour", "Succeeded", "Failed", "Refused while locked"]
    return Figure("chart-checks", title, summary, svg, legend, columns, rows)


def lockouts_figure(days: list[stats.DayCount]) -> Figure:
    total = sum(d.count for d in days)
    if total:
        worst = max(days, key=lambda d: d.count)
        spread = sum(1 for d in days if d.count)
        summary = f"{total} lockout{'s' if total != 1 else ''} in the last {len(days)} days"
        if worst.count > 1:
            summary += f"; the most on {day_label(worst.day)} ({worst.count})."
        else:
            summary += f", on {spread} different day{'s' if spread != 1 else ''}."
    else:
        summary = f"No account was locked out in the last {len(days)} days."
    n = len(days)
    points = [
        charts.Point(day_label(d.day), _short_day(d.day) if (n - 1 - i) % 7 == 0 else None)
        for i, d in enumerate(days)
    ]
    tips = [f"{day_label(d.day)}: {d.count} lockout{'s' if d.count != 1 else ''}" for d in days]
    series = [charts.Series("Lockouts", "danger", [d.count for d in days])]
    title = "Lockouts per day"
    svg = charts.bars(
        "chart-lockouts", title, summary, points, series, tips=tips,
        empty="No lockouts in the last 30 days",
    )  # fmt: skip
    rows = [[day_label(d.day), str(d.count)] for d in days]
    return Figure("chart-lockouts", title, summary, svg, [], ["Day (UTC)", "Lockouts"], rows)


@router.get("/admin")
def overview(request: Request, pages: PagesDep, state: State, principal: Admin) -> Response:
    """Headline numbers, 2FA adoption, second-factor checks and lockouts."""
    numbers = stats.overview(state.ctx, principal)
    own = devices.list_devices(state.ctx, principal)
    since = numbers.checks[0].hour if numbers.checks else numbers.at
    values = {
        "numbers": numbers,
        "adoption": adoption_figure(numbers.adoption),
        "checks": checks_figure(numbers.checks),
        "lockouts": lockouts_figure(numbers.lockouts),
        "own_two_factor": any(d.status == "active" for d in own),
        "failed_link": f"/admin/audit?outcome=failure&since={since:%Y-%m-%dT%H:%M}",
    }
    return pages.render(request, "admin/overview.html", values, principal=principal)
