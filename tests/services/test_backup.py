"""Issuing backup codes, on SQLite and PostgreSQL: a batch of ten, shown once, kept only as
keyed hashes, and a new batch kills the old one (DESIGN §4.4)."""

from __future__ import annotations

from collections.abc import Callable

from tests.services.support import dump_tables
from twostep.otp.backup_codes import normalize_backup_code
from twostep.services import backup
from twostep.services.context import Context
from twostep.services.factors import backup_code_hash
from twostep.store import backup_codes, users


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
        codes = backup.issue_batch(tx, ctx, user.id, ctx.clock.now())
    assert len(set(codes)) == 10
    with ctx.db.transaction(readonly=True) as tx:
        status = backup_codes.status(tx, user.id)
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
        old = backup.issue_batch(tx, ctx, user.id, at)
        new = backup.issue_batch(tx, ctx, user.id, at)
    assert not set(old) & set(new)
    with ctx.db.transaction() as tx:
        assert backup_codes.status(tx, user.id).total == 10
        assert not backup_codes.consume(tx, user.id, stored_hash(ctx, old[0]), at)
        assert backup_codes.consume(tx, user.id, stored_hash(ctx, new[0]), at)
        assert not backup_codes.consume(tx, user.id, stored_hash(ctx, new[0]), at)
