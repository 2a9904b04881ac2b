"""Waiting for real parts that get ready in the background: one bounded poll.

A server started as a process or a thread, or mail that leaves after its request returned,
is ready at a moment no clock of ours decides, so these waits poll real time, briefly and
up to a deadline. Everything else in the suite runs on an injected clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_for(
    ready: Callable[[], T | None], *, timeout: float, failure: str, interval: float = 0.05
) -> T:
    """Call ``ready`` until it returns a true value, and return that value.

    ``ready`` may raise to give up at once (a server process that exited). After ``timeout``
    seconds of real time this fails with ``failure`` and the time it waited.
    """
    deadline = time.monotonic() + timeout
    while not (value := ready()):
        if time.monotonic() > deadline:
            raise AssertionError(f"{failure} within {timeout:g} s")
        time.sleep(interval)  # real time: the part readies itself in another thread or process
    return value
