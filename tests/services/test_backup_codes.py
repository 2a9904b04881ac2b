"""Backup codes, on SQLite and PostgreSQL: a batch of ten, shown once, kept only as keyed
hashes; a new batch kills the old one; status and regeneration (DESIGN §4.2, §4.4, §4.7)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest
from sqlalchemy import select

from tests.services.conftest import ORIGIN, PASSWORD, T0, Enrolled
from tests.services.support import dump_tables, elevate_now
from twostep.clock import ManualClock
from twostep.errors import ElevationRequired, EnrollmentRequired, InvalidCode
from twostep.mail import MemoryMailer
from twostep.otp.backup_codes import normalize_backup_code
from twostep.services import backup_codes, devices, login, sessions
from twostep.services.context import Context
from twostep.services.factors import backup_code_hash
from twostep.store import audit, users
from twostep.store import backup_codes as code_store
from twostep.store.tables import backup_codes as backup_codes_table

PrincipalFor = Callable[[users.User], sessions.Principal]


def sign_in_with_backup_code(ctx: Context, email: str, backup_code: str) -> sessions.IssuedSession:
    challenge = login.login(ctx, email, PASSWORD, ORIGIN)
    assert isinstance(challenge, login.ChallengeIssued)
    return login.complete(ctx, challenge.challenge_id, ORIGIN, backup_code=backup_code)


def test_status_counts_remaining_and_total(
    ctx: Context,
    enrolled: Enrolled,
    make_user: Callable[..., users.User],
    principal_for: PrincipalFor,
) -> None:
    principal = principal_for(enrolled.user)
    assert backup_codes.backup_status(ctx, principal) == backup_codes.BackupStatus(10, 10, T0)
    sign_in_with_backup_code(ctx, enrolled.user.email, enrolled.backup_codes[0])
    sign_in_with_backup_code(ctx, enrolled.user.email, enrolled.backup_codes[1])
    assert backup_codes.backup_status(ctx, principal) == backup_codes.BackupStatus(8, 10, T0)
    nobody = principal_for(make_user("bob@example.com"))
    assert backup_codes.backup_status(ctx, nobody) == backup_codes.BackupStatus(0, 0, None)


def test_regenerate_needs_elevation(
    ctx: Context, enrolled: Enrolled, clock: ManualClock, principal_for: PrincipalFor
) -> None:
    principal = principal_for(enrolled.user)
    with pytest.raises(ElevationRequired):
        backup_codes.regenerate(ctx, principal, ORIGIN)
    elevated = elevate_now(ctx, principal, enrolled.secret, clock)
    limited = replace(elevated, session=replace(elevated.session, purpose="enroll"))
    with pytest.raises(EnrollmentRequired):
        backup_codes.regenerate(ctx, limited, ORIGIN)
    sign_in_with_backup_code(ctx, enrolled.user.email, enrolled.backup_codes[0])  # still valid


def test_regenerate_replaces_the_batch_and_the_old_codes_die(
    ctx: Context,
    enrolled: Enrolled,
    clock: ManualClock,
    principal_for: PrincipalFor,
    mailer: MemoryMailer,
) -> None:
    principal = elevate_now(ctx, principal_for(enrolled.user), enrolled.secret, clock)
    clock.advance(60)
    codes = backup_codes.regenerate(ctx, principal, ORIGIN)
    assert len(codes) == len(set(codes)) == 10
    assert not set(codes) & set(enrolled.backup_codes)
    assert backup_codes.backup_status(ctx, principal) == backup_codes.BackupStatus(
        10, 10, clock.now()
    )

    for old in (enrolled.backup_codes[0], enrolled.backup_codes[9]):
        with pytest.raises(InvalidCode):
            sign_in_with_backup_code(ctx, enrolled.user.email, old)
    issued = sign_in_with_backup_code(ctx, enrolled.user.email, codes[0])
    assert issued.session.amr == ("pwd", "backup")

    notice = mailer.last("backup_codes_regenerated")
    assert notice.to == enrolled.user.email
    with ctx.db.transaction(readonly=True) as tx:
        (event,) = audit.query(tx, event="backup_codes.regenerated")
        every = audit.query(tx, limit=500)
        stored = list(tx.execute(select(backup_codes_table.c.code_hash)).scalars())
    assert event.user_id == enrolled.user.id and event.details == {"count": 10}
    visible = repr([(e.event, e.details) for e in every]) + notice.text + (notice.html or "")
    for code in codes:
        normalized = normalize_backup_code(code)
        assert normalized is not None
        assert code not in visible and normalized not in visible
        assert not any(normalized in value or code in value for value in stored)


def test_regenerate_needs_an_active_device(
    ctx: Context, enrolled: Enrolled, clock: ManualClock, principal_for: PrincipalFor
) -> None:
    principal = elevate_now(ctx, principal_for(enrolled.user), enrolled.secret, clock)
    devices.remove(ctx, principal, enrolled.device_id, ORIGIN)
    with pytest.raises(EnrollmentRequired):
        backup_codes.regenerate(ctx, principal, ORIGIN)
    assert backup_codes.backup_status(ctx, principal).total == 0


def normalized(code: str) -> str:
    canonical = normalize_backup_code(code)
    assert canonical is not None, code
    return canonical


def stored_hash(ctx: Context, code: str) -> str:
    return backup_code_hash(ctx, normalized(code))


def test_a_batch_is_ten_codes_stored_only_as_keyed_hashes(
    ctx: Context, make_user: Callable[..., users.User]
) -> None:
    user = make_user()
    with ctx.db.transaction() as tx:
        codes = backup_codes.issue_batch(tx, ctx, user.id, ctx.clock.now())
    assert len(set(codes)) == 10
    with ctx.db.transaction(readonly=True) as tx:
        status = code_store.status(tx, user.id)
    assert (status.remaining, status.total) == (10, 10)
    dump = dump_tables(ctx)
    for code in codes:
        assert code not in dump and normalized(code) not in dump
        assert stored_hash(ctx, code) in dump


def test_a_new_batch_replaces_the_old_one(
    ctx: Context, make_user: Callable[..., users.User]
) -> None:
    user = make_user()
    at = ctx.clock.now()
    with ctx.db.transaction() as tx:
        old = backup_codes.issue_batch(tx, ctx, user.id, at)
        new = backup_codes.issue_batch(tx, ctx, user.id, at)
    assert not set(old) & set(new)
    with ctx.db.transaction() as tx:
        assert code_store.status(tx, user.id).total == 10
        assert not code_store.consume(tx, user.id, stored_hash(ctx, old[0]), at)
        assert code_store.consume(tx, user.id, stored_hash(ctx, new[0]), at)
        assert not code_store.consume(tx, user.id, stored_hash(ctx, new[0]), at)
