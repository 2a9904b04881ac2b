"""Audit repository: append, filter, page; secrets refused in details."""

from __future__ import annotations

import pytest

from tests.store.conftest import later
from twostep.store import Database, audit


def test_record_and_query_with_filters(db: Database, user_id: str) -> None:
    with db.transaction() as tx:
        for n, (event, outcome) in enumerate(
            [
                ("login", "success"),
                ("login", "failure"),
                ("otp.verify", "failure"),
                ("admin.unlock", "success"),
            ]
        ):
            audit.record(
                tx,
                event=event,
                outcome=outcome,
                at=later(n),
                user_id=user_id,
                actor_id="admin-1" if event.startswith("admin") else None,
                ip="192.0.2.1",
                user_agent="ua" * 400,
                details={"n": n, "methods": ["totp"]},
            )
        audit.record(tx, event="login", outcome="failure", at=later(10))
    with db.transaction(readonly=True) as tx:
        everything = audit.query(tx)
        assert [e.at for e in everything] == [later(n) for n in (10, 3, 2, 1, 0)]
        newest = everything[1]
        assert newest.event == "admin.unlock" and newest.actor_id == "admin-1"
        assert newest.details == {"n": 3, "methods": ["totp"]}
        assert newest.user_agent is not None and len(newest.user_agent) == 512
        assert everything[0].details == {} and everything[0].user_id is None
        assert len(audit.query(tx, event="login")) == 3
        assert len(audit.query(tx, event=["login", "otp.verify"], outcome="failure")) == 3
        assert len(audit.query(tx, user_id=user_id)) == 4
        assert len(audit.query(tx, actor_id="admin-1")) == 1
        assert [e.at for e in audit.query(tx, since=later(1), until=later(3))] == [
            later(2),
            later(1),
        ]
        assert [e.at for e in audit.query(tx, limit=2, offset=1)] == [later(3), later(2)]
        assert audit.count(tx) == 5
        assert audit.count(tx, event="login", user_id=user_id) == 2


@pytest.mark.parametrize("key", ["code", "Password", "secret", "backup_code", "refresh_token"])
def test_details_that_name_a_secret_are_refused(db: Database, key: str) -> None:
    with pytest.raises(ValueError, match="secrets"), db.transaction() as tx:
        audit.record(tx, event="x", outcome="success", at=later(0), details={key: "123456"})
