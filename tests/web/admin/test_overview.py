"""``/admin``: headline numbers and three charts that are valid, labelled SVG."""

from __future__ import annotations

from tests.web.admin.conftest import PASSWORD, Console, svgs
from twostep.services.operations import create_user
from twostep.web.middleware import PAGE_CSP

NS = {"svg": "http://www.w3.org/2000/svg"}


def _sign_in_with_codes(console: Console, wrong: int) -> None:
    """The user signs out, then in again after ``wrong`` wrong codes."""
    user = console.user
    assert user.submit("/logout", {}, form_page="/account").status_code == 303
    assert user.login().headers["location"] == "/login/2fa"
    for _ in range(wrong):
        user.submit("/login/2fa", {"code": "000000"}, form_page="/login/2fa")
    done = user.submit("/login/2fa", {"code": user.code()}, form_page="/login/2fa")
    assert done.headers["location"] == "/account"
    user.next_step()


def test_the_overview_counts_accounts_checks_and_lockouts(console: Console) -> None:
    _sign_in_with_codes(console, wrong=2)

    page = console.admin.get("/admin")

    assert page.status_code == 200
    assert page.headers["content-security-policy"] == PAGE_CSP
    html = page.text
    assert "<h1>Overview</h1>" in html
    assert '<span class="stat-value">2</span>' in html  # accounts
    assert '<span class="stat-value">100%</span>' in html and "2 of 2 accounts" in html
    # The user's three, and the administrator's own sign-in with a code (``open_console``).
    assert "4 second-factor checks in the last 48 hours: 2 failed" in html
    assert "No account was locked out in the last 30 days." in html
    assert "Your administrator account has no authenticator app" not in html


def test_charts_are_valid_svg_with_a_title_a_description_and_one_tip_per_bucket(
    console: Console,
) -> None:
    _sign_in_with_codes(console, wrong=console.ctx.settings.lockout_threshold - 1)
    html = console.admin.get("/admin").text
    charts = svgs(html)

    assert len(charts) == 3
    buckets = []
    for chart in charts:
        assert chart.tag == "{http://www.w3.org/2000/svg}svg"
        assert chart.get("role") == "img"
        title, desc = chart.find("svg:title", NS), chart.find("svg:desc", NS)
        assert title is not None and desc is not None and title.text and desc.text
        assert chart.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
        tips = chart.findall("svg:rect[@class='chart-hit']/svg:title", NS)
        buckets.append(len(tips))
    assert buckets == [30, 30, 48]  # adoption, lockouts, checks per hour
    titles = [c.find("svg:title", NS).text for c in charts]  # type: ignore[union-attr]
    assert titles == [
        "Share of accounts with two-step verification",
        "Lockouts per day",
        "Second-factor checks per hour",
    ]
    checks = charts[2]
    failed = checks.findall(".//svg:rect[@class='chart-fill-fail']", NS)
    assert len(failed) == 1  # all in this hour
    assert "style=" not in html  # the page CSP allows no inline style
    assert html.count("Show the numbers") == 3


def test_an_admin_without_a_second_factor_is_sent_to_set_one_up(console: Console) -> None:
    """The console needs a session that proved a second factor: an admin without a device
    may only enrol, and is told why."""
    create_user(console.ctx, "second@example.com", PASSWORD, admin=True)
    other = console.admin.other_browser()
    assert other.login("second@example.com").headers["location"] == "/enroll"
    assert other.get("/admin").headers["location"] == "/enroll"
    page = other.client.get("/enroll")
    assert "Administrators need two-step verification" in page.text


def test_adoption_is_not_zero_before_the_first_account(console: Console) -> None:
    """Both accounts were made today: the 29 days before have no share, not 0%."""
    html = console.admin.get("/admin").text
    table = html[html.index("Share of accounts") :]
    table = table[: table.index("</table>")]
    assert "<td>0%</td>" not in table and "<td>100%</td>" in table
    assert table.count("<td>—</td>") == 29
    assert "no accounts yet" in html
