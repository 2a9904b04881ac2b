"""Request rate limits per client address and per account: a sliding-window counter.

In memory by default (per process); shared through Redis, with the ``limits`` library, when
``TWOSTEP_REDIS_URL`` is set. A sliding-window *counter* keeps two fixed-window counts per key
and weighs the previous one by how much of it still overlaps the last minute, so a hit costs
O(1) in either store. The in-memory counts are two dictionaries swapped when the window turns
over: no timer thread and no scan of every key (the ``limits`` memory store starts a thread
per burst to expire keys one by one).

These limits blunt floods; the real brute-force bound is the per-account lockout counted in
the database (DESIGN §4.3), which holds across processes whatever this layer does.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

from limits import RateLimitItemPerMinute
from limits.storage import storage_from_string
from limits.strategies import SlidingWindowCounterRateLimiter

from twostep.config import Settings
from twostep.errors import TooManyAttempts

WINDOW_SECONDS = 60


class WindowCounts:
    """Per-key hits in the current and the previous fixed window, in memory.

    ``hit`` allows a request while ``previous × overlap + current`` stays below the limit,
    where ``overlap`` is the share of the previous window still inside the last
    ``window`` seconds; when it refuses, it returns the seconds until one more would pass.
    Thread-safe: handlers count from the event loop and from worker threads.
    """

    def __init__(self, window: int = WINDOW_SECONDS, now: Callable[[], float] = time.time) -> None:
        self._window, self._now = window, now
        self._lock = threading.Lock()
        self._index = 0
        self._current: dict[str, int] = {}
        self._previous: dict[str, int] = {}

    def hit(self, key: str, limit: int) -> int:
        """Count one hit of ``key``; 0 when allowed, else the seconds to wait (≥ 1)."""
        now = self._now()
        index, into = divmod(now, self._window)
        with self._lock:
            if index != self._index:
                self._previous = self._current if index == self._index + 1 else {}
                self._current, self._index = {}, int(index)
            current = self._current.get(key, 0)
            previous = self._previous.get(key, 0)
            overlap = 1 - into / self._window
            if previous * overlap + current + 1 <= limit:
                self._current[key] = current + 1
                return 0
        return max(1, math.ceil(self._wait(previous, current, limit, into)))

    def _wait(self, previous: int, current: int, limit: int, into: float) -> float:
        """Seconds from now until ``previous × overlap + current + 1 ≤ limit`` holds."""
        room = limit - 1 - current
        if room >= 0 and previous:  # within this window, as the previous one slides out
            return (1 - room / previous) * self._window - into
        # after this window ends, as this window's hits slide out in turn
        return self._window - into + max(0.0, 1 - (limit - 1) / current) * self._window


class RateLimits:
    """Named per-minute limits; :meth:`hit` raises :class:`TooManyAttempts` when exceeded."""

    def __init__(self, settings: Settings, now: Callable[[], float] = time.time) -> None:
        self._per_ip = settings.login_rate_per_minute
        self._per_account = settings.account_rate_per_minute
        self._now = now
        self._counts = WindowCounts(now=now)
        limits = (self._per_ip, self._per_account)
        self._items = {limit: RateLimitItemPerMinute(limit) for limit in limits}  # built once
        self._storage = storage_from_string(settings.redis_url) if settings.redis_url else None
        self._shared = (
            SlidingWindowCounterRateLimiter(self._storage) if self._storage is not None else None
        )

    def close(self) -> None:
        """Release the connections of a shared (Redis) store; in memory there are none."""
        connect = getattr(self._storage, "get_connection", None)
        if connect is not None:
            connect().close()

    def hit(self, scope: str, *, ip: str, account: str | None = None) -> None:
        """Count one request of ``scope`` from ``ip`` (and for ``account``), or refuse it."""
        self._hit(f"{scope}:ip", ip, self._per_ip)
        if account is not None:
            self._hit(f"{scope}:account", account, self._per_account)

    def _hit(self, namespace: str, key: str, limit: int) -> None:
        if self._shared is None:
            wait = self._counts.hit(f"{namespace}/{key}", limit)
        else:
            item = self._items[limit]
            wait = 0
            if not self._shared.hit(item, namespace, key):
                reset_at = self._shared.get_window_stats(item, namespace, key).reset_time
                wait = max(1, math.ceil(reset_at - self._now()))
        if wait:
            raise TooManyAttempts(wait)
