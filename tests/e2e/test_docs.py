"""``/docs`` works on a machine without internet access, under its strict CSP.

Every request that leaves 127.0.0.1 is aborted, as it would fail on an offline machine;
the page must still list the API's operations, with no CSP violation on the console.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Route, expect

from tests.e2e.conftest import LiveServer

pytestmark = pytest.mark.browser


def test_docs_list_the_operations_offline(live_server: LiveServer, browser: Browser) -> None:
    page = browser.new_page()
    blocked: list[str] = []
    problems: list[str] = []

    def offline(route: Route) -> None:
        if urlsplit(route.request.url).hostname in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    def console(message: ConsoleMessage) -> None:
        if message.type == "error":
            problems.append(message.text)

    page.route("**/*", offline)
    page.on("console", console)
    page.goto(f"{live_server.url}/docs")
    login = page.locator(".opblock-summary-path", has_text="/api/v1/auth/login").first
    expect(login).to_be_visible(timeout=15_000)
    expect(page.locator(".opblock")).not_to_have_count(0)
    assert page.locator(".opblock").count() > 20
    assert blocked == []
    assert [p for p in problems if "Content Security Policy" in p] == []
    page.close()
