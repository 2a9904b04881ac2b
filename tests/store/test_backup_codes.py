"""Backup code repository: batches, single use, status."""

from __future__ import annotations

from tests.store.conftest import T0, add_user, later
from twostep.store import Database, backup_codes


def test_a_code_is_consumed_once_and_only_by_its_owner(db: Database, user_id: str) -> None:
    with db.transaction() as tx:
        other = add_user(tx, "mallory@example.com").id
        backup_codes.replace_batch(tx, user_id, ["h1", "h2", "h3"], T0)
        backup_codes.replace_batch(tx, other, ["h1"], T0)
        assert backup_codes.consume(tx, user_id, "h2", later(1))
        assert not backup_codes.consume(tx, user_id, "h2", later(2))
        assert not backup_codes.consume(tx, user_id, "nope", later(2))
        assert backup_codes.consume(tx, other, "h1", later(3))
        mine = backup_codes.status(tx, user_id)
        theirs = backup_codes.status(tx, other)
    assert (mine.remaining, mine.total, mine.created_at) == (2, 3, T0)
    assert (theirs.remaining, theirs.total) == (0, 1)


def test_replacing_the_batch_kills_the_old_codes(db: Database, user_id: str) -> None:
    with db.transaction() as tx:
        first = backup_codes.replace_batch(tx, user_id, ["old1", "old2"], T0)
        second = backup_codes.replace_batch(tx, user_id, ["new1", "new2", "new3"], later(60))
        assert first != second
        assert not backup_codes.consume(tx, user_id, "old1", later(61))
        assert backup_codes.consume(tx, user_id, "new1", later(61))
        status = backup_codes.status(tx, user_id)
    assert (status.remaining, status.total, status.created_at) == (2, 3, later(60))


def test_status_without_codes_and_delete_all(db: Database, user_id: str) -> None:
    with db.transaction() as tx:
        empty = backup_codes.status(tx, user_id)
        assert (empty.remaining, empty.total, empty.created_at) == (0, 0, None)
        batch = backup_codes.replace_batch(tx, user_id, ["a", "b"], T0, batch_id="batch-1")
        assert batch == "batch-1"
        assert backup_codes.delete_all(tx, user_id) == 2
        assert backup_codes.status(tx, user_id).total == 0
        backup_codes.replace_batch(tx, user_id, ["c"], T0)
        backup_codes.replace_batch(tx, user_id, [], later(1))  # only the old batch goes
        assert backup_codes.status(tx, user_id).total == 0
