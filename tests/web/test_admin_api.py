"""The admin API: reading an account, the audit log's filters, and actions on accounts."""

from __future__ import annotations

import pytest

from tests.web.conftest import Api
from tests.web.people import Person, enrolled


@pytest.fixture
def admin(api: Api) -> Person:
    return enrolled(api, "root@example.com", admin=True)


@pytest.fixture
def user(api: Api) -> Person:
    return enrolled(api, "erin@example.com")


def test_user_detail_shows_devices_backup_codes_and_sessions(
    api: Api, admin: Person, user: Person
) -> None:
    reply = api.get(f"/admin/users/{user.id}", admin.token)
    assert reply.status_code == 200, reply.text
    detail = reply.json()
    assert detail["account"]["email"] == user.email
    assert detail["account"]["two_factor_enabled"] is True
    assert [d["id"] for d in detail["devices"]] == [user.device_id]
    assert detail["devices"][0]["status"] == "active"
    assert detail["backup"]["remaining"] == detail["backup"]["total"] == 10
    assert user.session_id in {s["id"] for s in detail["sessions"]}
    assert api.get(f"/admin/users/{admin.id}", admin.token).status_code == 200
    assert api.get("/admin/users/nobody", admin.token).status_code == 404
