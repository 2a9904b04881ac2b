"""The atomic statements hold under real concurrency, on both engines (DESIGN §4.1-4.3).

Twenty threads, then two separate processes (spawned, each with its own engine and ten
threads), race on one row: exactly one step advance and one backup-code use succeed, and
no failure count is lost.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.store.conftest import T0, add_device, later
from tests.store.workers import burst, operation, process_main
from tests.support.concurrency import in_processes
from twostep.store import Database, backup_codes, devices, throttles

THREADS = 20


def _targets(db: Database, user_id: str) -> dict[str, str]:
    with db.transaction() as tx:
        device_id = add_device(tx, user_id)  # confirmed at step 100
        backup_codes.replace_batch(tx, user_id, ["the-code", "other"], T0)
    return {"advance_step": device_id, "consume": user_id, "register_failure": "otp:user:x"}


def _check(db: Database, name: str, outcomes: list[Any], user_id: str, device_id: str) -> None:
    assert len(outcomes) == THREADS
    with db.transaction(readonly=True) as tx:
        if name == "register_failure":
            assert sorted(outcomes) == list(range(1, THREADS + 1))
            state = throttles.get(tx, "otp:user:x")
            assert state is not None and state.failures == THREADS
            assert state.lock_count == 1 and state.locked_until == later(61)
            return
        assert outcomes.count(True) == 1
        if name == "advance_step":
            device = devices.get(tx, device_id)
            assert device is not None and device.last_used_step == 101
        else:
            assert backup_codes.status(tx, user_id).remaining == 1


NAMES = ["advance_step", "consume", "register_failure"]


@pytest.mark.parametrize("name", NAMES)
def test_threads_race(db: Database, user_id: str, name: str) -> None:
    targets = _targets(db, user_id)
    outcomes = burst(db, operation(name, targets[name], 101), THREADS)
    _check(db, name, outcomes, user_id, targets["advance_step"])


def test_processes_race(db: Database, database_url: str, user_id: str) -> None:
    """Two spawned processes, ten threads each, per race; one pair runs all three races."""
    targets = _targets(db, user_id)
    plan = [(name, targets[name], 101) for name in NAMES]
    reports = in_processes(process_main, [(database_url, plan, THREADS // 2)] * 2)
    for name in NAMES:
        outcomes = [outcome for report in reports for outcome in report[name]]
        _check(db, name, outcomes, user_id, targets["advance_step"])


def test_a_step_at_or_before_the_last_one_is_refused_after_a_race(
    db: Database, user_id: str
) -> None:
    targets = _targets(db, user_id)
    burst(db, operation("advance_step", targets["advance_step"], 105), THREADS)
    with db.transaction() as tx:
        for step in (100, 104, 105):
            assert not devices.advance_step(tx, targets["advance_step"], step, later(2))
        assert devices.advance_step(tx, targets["advance_step"], 106, later(2))
