"""Real concurrency for the tests: calls released together in threads, and spawned processes
started together that each send back one report.

A barrier holds every thread until all are ready, so the calls truly overlap; a barrier of
the ``spawn`` context does the same across processes, each of which imports afresh and
builds its own engine. Nothing sleeps: every wait is bounded, and what a thread or process
raised comes back as data for the test to assert on.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable, Sequence
from typing import Any, TypeAlias, TypeVar

from twostep.errors import TwostepError

T = TypeVar("T")
Outcome: TypeAlias = T | BaseException
"""What a call returned, or what it raised."""
BOUND = 60.0
"""Seconds a thread waits for the others at the barrier before the race counts as broken."""


def together(calls: Sequence[Callable[[], T]], start: Any = None) -> list[Outcome[T]]:
    """Run each call in a thread of its own, all released at once; what each returned or raised.

    Outcomes come in the order the calls finished. ``start`` is a barrier shared with other
    processes (see :func:`in_processes`): passed first, so every process's threads start
    together.
    """
    gate = threading.Barrier(len(calls))
    outcomes: list[Outcome[T]] = []
    lock = threading.Lock()

    def run(call: Callable[[], T]) -> None:
        outcome: Outcome[T]
        try:
            gate.wait(timeout=BOUND)
            outcome = call()
        except BaseException as exc:  # handed back, so the assertion shows what went wrong
            outcome = exc
        with lock:
            outcomes.append(outcome)

    if start is not None:
        start.wait(timeout=BOUND)
    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def returned(outcomes: Sequence[Outcome[T]]) -> list[T]:
    """The values the calls returned; the first exception, raised, if any call raised one."""
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome
    return [outcome for outcome in outcomes if not isinstance(outcome, BaseException)]


def named(outcomes: Sequence[Outcome[Any]]) -> list[str]:
    """Each outcome as a name to compare: ``"ok"`` for a return, the class of a
    :class:`TwostepError`, and the ``repr`` of anything else (a bug, shown in the assertion)."""
    return [_name(outcome) for outcome in outcomes]


def _name(outcome: Outcome[Any]) -> str:
    if not isinstance(outcome, BaseException):
        return "ok"
    if isinstance(outcome, TwostepError):
        return type(outcome).__name__
    return repr(outcome)


def in_processes(
    target: Callable[..., Any], args: Sequence[tuple[Any, ...]], timeout: float = 120
) -> list[Any]:
    """Spawn one process per tuple of ``args``, started together; what each ``target`` returned.

    Each process calls ``target(*its_args, start)``, where ``start`` is a barrier for all of
    them (the target waits on it, or hands it to :func:`together`). Results come in the
    order the processes finished; if any raised, this fails with their errors.
    """
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(len(args))
    out = context.Queue()
    processes = [
        context.Process(target=_report, args=(target, (*each, start), out)) for each in args
    ]
    for process in processes:
        process.start()
    try:
        reports = [out.get(timeout=timeout) for _ in processes]
    finally:
        for process in processes:
            process.join(timeout=30)
        out.close()
        out.join_thread()
    errors = [value for status, value in reports if status == "error"]
    assert not errors, errors
    return [value for _, value in reports]


def _report(target: Callable[..., Any], args: tuple[Any, ...], out: Any) -> None:
    """Inside the spawned process: run ``target`` and put its result (or its error) on ``out``."""
    try:
        out.put(("ok", target(*args)))
    except BaseException as exc:
        out.put(("error", repr(exc)))
