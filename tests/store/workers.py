"""Code run inside spawned processes by the store's concurrency tests (importable, hence
not a test module); the harness itself is :mod:`tests.support.concurrency`.

Each process builds its own engine; for every race in the plan it waits at a barrier shared
with the other process, then fires a burst of threads at one row. It returns what it saw.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from tests.store.moments import later
from tests.support.concurrency import returned, together
from twostep.store import Database, Tx, backup_codes, devices, throttles

Operation = Callable[[Tx], Any]
Race = tuple[str, str, int]
"""(operation name, target row, step) — plain data, so it crosses ``spawn``."""


def operation(name: str, target: str, step: int) -> Operation:
    """The racing statement, by name."""
    if name == "advance_step":
        return lambda tx: devices.advance_step(tx, target, step, later(1))
    if name == "consume":
        return lambda tx: backup_codes.consume(tx, target, "the-code", later(1))
    if name == "register_failure":
        return lambda tx: throttles.register_failure(tx, target, later(1), 5, 60).failures
    raise ValueError(name)


def burst(db: Database, op: Operation, threads: int, start: Any = None) -> list[Any]:
    """Run ``op`` in ``threads`` threads released together, each in its own transaction."""

    def call() -> Any:
        with db.transaction() as tx:
            return op(tx)

    return returned(together([call] * threads, start))


def process_main(url: str, plan: Sequence[Race], threads: int, start: Any) -> dict[str, list[Any]]:
    """One spawned process: run each race with its own engine; what each race returned."""
    db = Database.from_url(url)
    try:
        return {
            name: burst(db, operation(name, target, step), threads, start)
            for name, target, step in plan
        }
    finally:
        db.dispose()


def migrate_main(url: str, start: Any) -> None:
    """One spawned process: migrate to head together with the other one."""
    from twostep.store import migrate

    start.wait(timeout=60)
    migrate.upgrade(url)
