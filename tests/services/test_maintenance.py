"""The purge: rows past their time go, live rows stay, in bounded batches that let writers in.

Runs on SQLite and PostgreSQL (the ``ctx`` fixture takes ``db``).
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from twostep.clock import ManualClock
from twostep.services import maintenance
from twostep.services.context import Context
from twostep.store import (
    Tx,
    audit,
    challenges,
    email_codes,
    refresh_tokens,
    remembered,
    reset_tokens,
    sessions,
    throttles,
    users,
    webauthn,
)
from twostep.store.tables import (
    audit_events,
    metadata,
)
from twostep.store.tables import (
    email_codes as email_codes_table,
)

DAY = timedelta(days=1)


def _hash() -> str:
    return secrets.token_hex(32)


def seed(tx: Tx, user_id: str, *, at: datetime, expires_at: datetime, tag: str) -> None:
    """One row of every purgeable kind, created at ``at`` and expiring at ``expires_at``."""
    session = sessions.create(
        tx, user_id=user_id, refresh_hash=_hash(), at=at, expires_at=expires_at, amr=["pwd"]
    )
    refresh_tokens.retire(
        tx, token_hash=_hash(), session_id=session.id, family_id=session.family_id, at=at
    )
    challenges.create(tx, user_id=user_id, purpose="login", methods=["totp"], at=at,
                      expires_at=expires_at)  # fmt: skip
    challenges.create(tx, user_id=user_id, purpose="elevate", methods=["totp"], at=at,
                      expires_at=expires_at, session_id=session.id)  # fmt: skip
    reset_tokens.create(tx, user_id=user_id, token_hash=_hash(), at=at, expires_at=expires_at)
    email_codes.issue(tx, email=f"{tag}@example.com", purpose="verify", code_hash=_hash(),
                      at=at, expires_at=expires_at)  # fmt: skip
    throttles.register_failure(tx, f"otp:user:{tag}", at, 1, 60)  # locked for a minute
    throttles.register_failure(tx, f"login:ip:{tag}", at, 5, 60)  # one failure, no lock
    audit.record(tx, event="user.signed_in", outcome="success", at=at, user_id=user_id)


def counts(ctx: Context) -> dict[str, int]:
    with ctx.db.transaction(readonly=True) as tx:
        return {
            name: tx.execute(select(func.count()).select_from(table)).scalar_one()
            for name, table in metadata.tables.items()
            if name not in ("users", "alembic_version")
        }


@pytest.fixture
def user_id(make_user: Callable[..., users.User]) -> str:
    return make_user().id


def test_rows_past_their_time_go_and_live_rows_stay(
    ctx: Context, clock: ManualClock, user_id: str
) -> None:
    now = clock.now()
    with ctx.db.transaction() as tx:
        seed(tx, user_id, at=now - 400 * DAY, expires_at=now - 2 * DAY, tag="old")
        seed(tx, user_id, at=now - DAY, expires_at=now + DAY, tag="live")
        # Expired, but within the grace hour: a late request still meets "expired".
        reset_tokens.create(tx, user_id=user_id, token_hash=_hash(), at=now - DAY,
                            expires_at=now - timedelta(minutes=5))  # fmt: skip
        for expires in (now - 2 * DAY, now + DAY):
            webauthn.create_passkey_challenge(tx, at=now - 3 * DAY, expires_at=expires)
            remembered.create(tx, user_id=user_id, token_hash=_hash(), user_agent=None,
                              at=now - 3 * DAY, expires_at=expires)  # fmt: skip
    report = maintenance.purge(ctx)
    assert report.deleted == {
        "challenges": 2,
        "passkey_challenges": 1,
        "email_codes": 1,
        "remembered_browsers": 1,
        "reset_tokens": 1,
        "sessions": 1,
        "throttles": 2,
        "audit_events": 1,
    }
    left = counts(ctx)
    assert left["sessions"] == 1 and left["refresh_tokens_retired"] == 1
    assert left["challenges"] == 2 and left["reset_tokens"] == 2 and left["email_codes"] == 1
    assert left["throttles"] == 2 and left["audit_events"] == 1
    with ctx.db.transaction(readonly=True) as tx:
        assert throttles.get(tx, "otp:user:live") is not None
        assert tx.execute(select(email_codes_table.c.email)).scalar_one() == "live@example.com"
    assert maintenance.purge(ctx).total == 0


def test_a_lock_that_ended_recently_is_kept(ctx: Context, clock: ManualClock) -> None:
    """A counter idle for days whose lock ended only a day ago still escalates the next."""
    now = clock.now()
    with ctx.db.transaction() as tx:
        throttles.register_failure(tx, "otp:user:x", now - 3 * DAY, 1, 2 * 86400,
                                   max_lock_seconds=2 * 86400)  # fmt: skip
    assert maintenance.purge(ctx).deleted["throttles"] == 0
    clock.advance(3 * 86400)
    assert maintenance.purge(ctx).deleted["throttles"] == 1


def test_audit_retention_follows_the_setting(
    ctx: Context, clock: ManualClock, user_id: str
) -> None:
    now = clock.now()
    with ctx.db.transaction() as tx:
        for days in (10, 40, 400):
            audit.record(tx, event="e", outcome="success", at=now - days * DAY, user_id=user_id)
    ctx.settings = ctx.settings.model_copy(update={"audit_days": 30})
    assert maintenance.purge(ctx).deleted["audit_events"] == 2
    with ctx.db.transaction(readonly=True) as tx:
        kept = tx.execute(select(audit_events.c.at)).scalars().all()
    assert kept == [now - 10 * DAY]


def test_batches_are_bounded_and_writers_get_in_between(
    ctx: Context, clock: ManualClock, user_id: str
) -> None:
    now = clock.now()
    with ctx.db.transaction() as tx:
        for _ in range(25):
            reset_tokens.create(tx, user_id=user_id, token_hash=_hash(), at=now - 3 * DAY,
                                expires_at=now - 2 * DAY)  # fmt: skip
    seen: list[int] = []
    writes: list[bool] = []

    def between() -> None:
        seen.append(counts(ctx)["reset_tokens"])

        def sign_in_elsewhere() -> None:  # another thread writes while the purge pauses
            with ctx.db.transaction() as tx:
                throttles.register_failure(tx, "login:ip:203.0.113.9", clock.now(), 5, 60)
            writes.append(True)

        writer = threading.Thread(target=sign_in_elsewhere)
        writer.start()
        writer.join(timeout=10)
        assert not writer.is_alive(), "a write waited on the purge"

    report = maintenance.purge(ctx, batch=10, between_batches=between)
    assert report.deleted["reset_tokens"] == 25
    assert seen == [15, 5]  # 10 rows per transaction, committed before the next
    assert writes == [True, True]


def test_purge_if_free_runs_on_one_node_at_a_time(ctx: Context, user_id: str) -> None:
    with ctx.db.exclusive(maintenance.LOCK_NAME) as held:
        assert held
        other = maintenance.purge_if_free(ctx)
    if ctx.db.dialect == "postgresql":
        assert other.skipped and other.total == 0
    else:  # one machine: SQLite serialises writers itself
        assert not other.skipped
    assert not maintenance.purge_if_free(ctx).skipped


def test_store_deletes_are_bounded(ctx: Context, clock: ManualClock, user_id: str) -> None:
    now = clock.now()
    with ctx.db.transaction() as tx:
        for n in range(5):
            audit.record(tx, event="e", outcome="success", at=now - (n + 1) * DAY)
        assert audit.delete_before(tx, now, limit=2) == 2
        assert audit.delete_before(tx, now, limit=10) == 3
        with pytest.raises(ValueError, match="positive"):
            audit.delete_before(tx, now, limit=0)
