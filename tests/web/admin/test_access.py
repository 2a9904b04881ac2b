"""Who gets into the console: visitors sign in first, accounts without the role get a 403."""

from __future__ import annotations

from urllib.parse import quote

from tests.web.admin.conftest import Console

PAGES = [
    "/admin",
    "/admin/users",
    "/admin/users/{id}",
    "/admin/users/{id}/reset-2fa",
    "/admin/audit",
    "/admin/audit/export.csv",
    "/admin/audit/export.json",
]


def test_a_visitor_signs_in_first_and_comes_back(console: Console) -> None:
    visitor = console.user.other_browser()
    for template in PAGES:
        path = template.format(id=console.user_id)
        reply = visitor.get(path)
        assert reply.status_code == 303, path
        assert reply.headers["location"] == f"/login?next={quote(path, safe='/')}"


def test_an_account_without_the_admin_role_gets_a_403_page(console: Console) -> None:
    for template in PAGES:
        reply = console.user.get(template.format(id=console.admin_id))
        assert reply.status_code == 403, template
        assert "The admin console is for administrators" in reply.text
        assert reply.headers["content-type"].startswith("text/html")
    url = console.confirm_url("make-admin", console.user_id)
    tried = console.user.submit(url, {}, form_page="/account")
    assert tried.status_code == 403
    assert console.account().role == "user"


def test_the_header_links_to_the_console_only_inside_it(console: Console) -> None:
    page = console.admin.get("/admin").text
    assert '<a href="/admin" aria-current="page">Admin</a>' in page
    assert 'aria-label="Admin console"' in page


def test_admins_find_the_console_from_their_account_page(console: Console) -> None:
    assert 'href="/admin"' in console.admin.client.get("/account").text
    assert 'href="/admin"' not in console.user.client.get("/account").text
    head = console.admin.client.get("/admin").text.split("</head>", 1)[0]
    assert "admin.css" in head
