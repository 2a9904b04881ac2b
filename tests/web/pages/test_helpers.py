"""The small pure helpers of the pages: redirects, durations, cookies, display values."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from twostep.web.pages.cookies import PendingChallenge
from twostep.web.pages.humanize import duration, key_groups, linkify, user_agent, when
from twostep.web.pages.routing import safe_next, with_next


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/account", "/account"),
        ("/account/password?x=1#top", "/account/password?x=1#top"),
        ("", "/account"),
        ("account", "/account"),
        ("//evil.example", "/account"),
        ("/\\evil.example", "/account"),
        ("https://evil.example/account", "/account"),
        ("/\x00", "/account"),
        ("/a b", "/account"),
        ("/" + "a" * 600, "/account"),
    ],
)
def test_safe_next(value: str, expected: str) -> None:
    assert safe_next(value) == expected


def test_with_next() -> None:
    assert with_next("/login", "/account/password") == "/login?next=/account/password"
    assert with_next("/login", "//evil") == "/login"
    assert with_next("/login", None) == "/login"
    assert with_next("/login", "/a?b=c&d") == "/login?next=/a%3Fb%3Dc%26d"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "1 second"),
        (1, "1 second"),
        (45, "45 seconds"),
        (60, "1 minute"),
        (61, "2 minutes"),
        (840, "14 minutes"),
        (900, "15 minutes"),
        (5400, "1 hour 30 minutes"),
        (7200, "2 hours"),
    ],
)
def test_duration(seconds: int, text: str) -> None:
    assert duration(seconds) == text


@pytest.mark.parametrize(
    ("agent", "text"),
    [
        (None, "Unknown device"),
        (
            "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
            "Firefox on Linux",
        ),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
            "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
            "Safari on iPhone",
        ),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0",
            "Edge on Windows",
        ),
        ("curl/8.5.0", "curl"),
        ("something else", "something else"),
    ],
)
def test_user_agent(agent: str | None, text: str) -> None:
    assert user_agent(agent) == text


def test_key_groups() -> None:
    assert key_groups("jbswy3dpehpk3pxp") == "JBSW Y3DP EHPK 3PXP"
    assert key_groups("JBSW-Y3DP EHPK3PX==") == "JBSW Y3DP EHPK 3PX"


def test_when_renders_a_time_element_in_utc() -> None:
    html = str(when(datetime(2026, 5, 6, 7, 8, 9, tzinfo=UTC)))
    assert html == (
        '<time datetime="2026-05-06T07:08:09+00:00" data-local="datetime">'
        "6 May 2026, 07:08 UTC</time>"
    )
    assert str(when(None)) == "<span>Never</span>"


def test_linkify_escapes_and_links_only_this_site() -> None:
    text = 'Go to https://me.test/reset?token=a&b=1. Not <b>https://evil.test/x</b> "x"'
    html = str(linkify(text, "https://me.test/"))
    assert '<a href="https://me.test/reset?token=a&amp;b=1">' in html
    assert "evil.test/x</b>" not in html and "&lt;b&gt;https://evil.test/x&lt;/b&gt;" in html
    assert '<a href="https://evil' not in html


@pytest.mark.parametrize("value", [None, "", "a", "a:b:c", "a:1", ":1:b", "a:1:b:c", "x" * 200])
def test_malformed_challenge_cookies_are_ignored(value: str | None) -> None:
    assert PendingChallenge.decode(value) is None


def test_challenge_cookie_round_trip() -> None:
    pending = PendingChallenge("0b6f", 1_800_000_000, True)
    assert PendingChallenge.decode(pending.encode()) == pending
