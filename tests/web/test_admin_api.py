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


@pytest.mark.parametrize(
    "params",
    [
        {"until": "9999-12-31T23:59:59-01:00"},
        {"since": "0001-01-01T00:00+14:00"},
        {"since": "0001-01-01T00:00:00+14:00", "until": "9999-12-31T23:59:59.999999-14:00"},
    ],
)
def test_times_at_the_ends_of_the_calendar_are_the_ends(
    api: Api, admin: Person, params: dict[str, str]
) -> None:
    reply = api.get("/admin/audit", admin.token, params=params)
    assert reply.status_code == 200, reply.text
    assert reply.json()["total"] > 0


@pytest.mark.parametrize(
    "value", ["0.5", "1778000000", "2026-05-06T14:30", "2026-05-06", "today", "2026-02-30T00:00Z"]
)
def test_audit_times_are_iso_8601_with_a_zone(api: Api, admin: Person, value: str) -> None:
    for name in ("since", "until"):
        reply = api.get("/admin/audit", admin.token, params={name: value})
        assert reply.status_code == 422, (name, value, reply.text)
        assert reply.json()["error"]["field"] == name
    zoned = api.get("/admin/audit", admin.token, params={"since": "2026-05-06T14:30:00+02:00"})
    assert zoned.status_code == 200


@pytest.mark.parametrize("active", [0.0, 0, 1, "false", "true", None, [], {}])
def test_set_active_takes_a_json_boolean_only(
    api: Api, admin: Person, user: Person, active: object
) -> None:
    reply = api.post(f"/admin/users/{user.id}/active", admin.token, json={"active": active})
    assert reply.status_code == 422, reply.text
    assert reply.json()["error"]["field"] == "active"
    assert api.get("/me", user.token).status_code == 200  # still active and signed in
    extra = api.post(
        f"/admin/users/{user.id}/active", admin.token, json={"active": True, "why": "x"}
    )
    assert extra.status_code == 422


@pytest.mark.parametrize(
    ("action", "body"),
    [("reset-2fa", None), ("revoke-sessions", None), ("active", {"active": False})],
)
def test_an_admin_cannot_lock_themselves_out(
    api: Api, admin: Person, action: str, body: dict[str, bool] | None
) -> None:
    reply = api.post(f"/admin/users/{admin.id}/{action}", admin.token, json=body)
    assert reply.status_code == 403, reply.text
    error = reply.json()["error"]
    assert error["code"] == "SELF_TARGETED" and "your account" in error["message"]
    detail = api.get(f"/admin/users/{admin.id}", admin.token).json()
    assert detail["account"]["two_factor_enabled"] and detail["account"]["is_active"]
    assert admin.session_id in {s["id"] for s in detail["sessions"]}


def test_the_same_actions_work_on_another_account(api: Api, admin: Person, user: Person) -> None:
    assert api.post(f"/admin/users/{user.id}/revoke-sessions", admin.token).json()["count"] >= 1
    assert api.post(f"/admin/users/{user.id}/reset-2fa", admin.token).status_code == 204
    assert api.post(f"/admin/users/{admin.id}/unlock", admin.token).status_code == 204
    assert api.get("/me", user.token).status_code == 401
