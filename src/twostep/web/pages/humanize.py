"""Values in the user's terms: durations, dates, browsers, and keys in readable groups.

Dates are rendered in UTC inside ``<time datetime=…>``; a few lines of JavaScript rewrite
them in the browser's own time zone and language, and without JavaScript the UTC text stays.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime

from markupsafe import Markup, escape


def duration(seconds: float) -> str:
    """``14 minutes``, ``45 seconds``, ``2 hours``: rounded up, so a wait is never too short.

    >>> duration(840), duration(45), duration(7200), duration(5400)
    ('14 minutes', '45 seconds', '2 hours', '1 hour 30 minutes')
    """
    total = max(1, math.ceil(seconds))
    if total < 60:
        return _plural(total, "second")
    minutes = math.ceil(total / 60)
    if minutes < 90:
        return _plural(minutes, "minute")
    hours, rest = divmod(minutes, 60)
    return _plural(hours, "hour") + (f" {_plural(rest, 'minute')}" if rest else "")


def _plural(count: int, unit: str) -> str:
    return f"{count} {unit}{'' if count == 1 else 's'}"


def when(at: datetime | None, empty: str = "Never") -> Markup:
    """A ``<time>`` element for ``at`` (``empty`` when there is no time)."""
    if at is None:
        return Markup("<span>{}</span>").format(empty)
    moment = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    text = f"{moment.day} {moment:%b %Y, %H:%M} UTC"
    return Markup('<time datetime="{}" data-local="datetime">{}</time>').format(
        moment.isoformat(), text
    )


def date(at: datetime | None, empty: str = "Never") -> Markup:
    """Like :func:`when`, shown as a date only."""
    if at is None:
        return Markup("<span>{}</span>").format(empty)
    moment = (at if at.tzinfo is not None else at.replace(tzinfo=UTC)).astimezone(UTC)
    return Markup('<time datetime="{}" data-local="date">{}</time>').format(
        moment.isoformat(), f"{moment.day} {moment:%b %Y}"
    )


_BROWSERS = (
    ("Edg/", "Edge"),
    ("OPR/", "Opera"),
    ("Firefox/", "Firefox"),
    ("Chromium/", "Chromium"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
    ("curl/", "curl"),
)
_SYSTEMS = (
    ("Android", "Android"),
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("CrOS", "ChromeOS"),
    ("Linux", "Linux"),
)


def user_agent(agent: str | None) -> str:
    """``Firefox on Linux``, from a User-Agent header; ``Unknown device`` when unclear."""
    if not agent:
        return "Unknown device"
    browser = next((name for marker, name in _BROWSERS if marker in agent), None)
    system = next((name for marker, name in _SYSTEMS if marker in agent), None)
    if "HeadlessChrome" in agent:
        browser = "Chrome (headless)"
    if browser and system:
        return f"{browser} on {system}"
    return browser or system or agent[:40]


def key_groups(secret: str) -> str:
    """A base32 key in groups of four, the way people copy it: ``ABCD EFGH IJKL``."""
    compact = re.sub(r"[\s=-]", "", secret).upper()
    return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))


def linkify(text: str, allowed_prefix: str) -> Markup:
    """Escape ``text`` and turn URLs under ``allowed_prefix`` into links (dev mailbox)."""
    parts: list[Markup] = []
    last = 0
    for found in re.finditer(r"https?://[^\s<>\"']+", text):
        url = found.group(0).rstrip(".,;:)")
        parts.append(escape(text[last : found.start()]))
        if url.startswith(allowed_prefix):
            parts.append(Markup('<a href="{}">{}</a>').format(url, url))
        else:
            parts.append(escape(url))
        last = found.start() + len(url)
    parts.append(escape(text[last:]))
    return Markup("").join(parts)
