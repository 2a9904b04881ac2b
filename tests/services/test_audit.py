"""Reading the audit log back: readable names, and a user's own activity only."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.services.conftest import ORIGIN, PASSWORD
from tests.services.support import mark_elevated
from twostep.clock import ManualClock
from twostep.errors import InvalidInput
from twostep.services import accounts, audit, sessions
from twostep.services.context import Context
from twostep.store import users


@pytest.mark.parametrize(
    ("event", "name"),
    [
        ("login.factor", "Sign-in: second factor"),
        ("login.password", "Sign-in: password"),
        ("device.confirm", "Authenticator app added"),
        ("reset.factor", "Password reset: second factor"),
        ("brand_new.thing_done", "Brand new: thing done"),
        ("plain", "Plain"),
    ],
)
def test_event_names_are_readable(event: str, name: str) -> None:
    assert audit.event_name(event) == name


def test_every_event_a_user_sees_has_a_name() -> None:
    assert all(event in audit.EVENT_NAMES for event in audit.USER_ACTIVITY_EVENTS)
    assert "session.refreshed" not in audit.USER_ACTIVITY_EVENTS


def test_user_activity_holds_only_the_callers_rows_newest_first(
    ctx: Context,
    clock: ManualClock,
    make_user: Callable[..., users.User],
    principal_for: Callable[[users.User], sessions.Principal],
) -> None:
    alice, bob = make_user(), make_user("bob@example.com")
    at = clock.now()
    with ctx.db.transaction() as tx:
        audit.record(tx, "login.password", "failure", at=at, origin=ORIGIN, user_id=alice.id)
        audit.record(tx, "login.password", "success", at=at, origin=ORIGIN, user_id=bob.id)
        audit.record(tx, "session.refreshed", "success", at=at, origin=ORIGIN, user_id=alice.id)
    clock.advance(60)
    with ctx.db.transaction() as tx:
        audit.record(
            tx, "admin.unlocked", "success", at=clock.now(), origin=ORIGIN, user_id=alice.id,
            actor_id=bob.id,
        )  # fmt: skip
    found = audit.user_activity(ctx, principal_for(alice))
    names = [(a.name, a.outcome, a.by_admin) for a in found if a.event != "session.created"]
    assert names == [
        ("Admin: account unlocked", "success", True),
        ("Sign-in: password", "failure", False),
    ]


def test_a_password_change_refuses_the_current_password(
    ctx: Context,
    make_user: Callable[..., users.User],
    principal_for: Callable[[users.User], sessions.Principal],
) -> None:
    principal = mark_elevated(ctx, principal_for(make_user()))
    with pytest.raises(InvalidInput) as caught:
        accounts.change_password(ctx, principal, PASSWORD, PASSWORD, ORIGIN)
    assert caught.value.field == "new_password"
    assert "current password" in caught.value.message
