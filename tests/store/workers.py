"""Code run inside spawned processes by the concurrency tests (importable, hence not a test).

Each process builds its own engine; for every race in the plan it waits at a barrier shared
with the other process, then fires a burst of threads at one row. It reports what it saw.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from tests.store.moments import later
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
    gate = threading.Barrier(threads)
    results: list[Any] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def run() -> None:
        try:
            gate.wait()
            with db.transaction() as tx:
                outcome = op(tx)
            with lock:
                results.append(outcome)
        except BaseException as exc:
            with lock:
                errors.append(exc)

    if start is not None:
        start.wait()
    workers = [threading.Thread(target=run) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    if errors:
        raise errors[0]
    return results


def process_main(url: str, plan: Sequence[Race], threads: int, start: Any, out: Any) -> None:
    """Entry point of one spawned process: run each race, then report outcomes (or the error)."""
    db = Database.from_url(url)
    try:
        report = {
            name: burst(db, operation(name, target, step), threads, start)
            for name, target, step in plan
        }
        out.put(("ok", report))
    except BaseException as exc:
        out.put(("error", repr(exc)))
    finally:
        db.dispose()


def migrate_main(url: str, start: Any, out: Any) -> None:
    """Entry point of one spawned process: migrate to head together with the other one."""
    from twostep.store import migrate

    try:
        start.wait()
        migrate.upgrade(url)
        out.put("ok")
    except BaseException as exc:
        out.put(repr(exc))
