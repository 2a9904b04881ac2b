"""Request rate limits per client address and per account, with the ``limits`` library.

In memory by default (per process); shared through Redis when ``TWOSTEP_REDIS_URL`` is set.
A sliding-window *counter* (two fixed-window counts, weighted) costs O(1) per hit in either
store; a moving window would keep and scan a timestamp per request.
These limits blunt floods; the real brute-force bound is the per-account lockout counted in
the database (DESIGN §4.3), which holds across processes whatever this layer does.
"""

from __future__ import annotations

import math
import time

from limits import RateLimitItemPerMinute
from limits.storage import storage_from_string
from limits.strategies import SlidingWindowCounterRateLimiter

from twostep.config import Settings
from twostep.errors import TooManyAttempts


class RateLimits:
    """Named per-minute limits; :meth:`hit` raises :class:`TooManyAttempts` when exceeded."""

    def __init__(self, settings: Settings) -> None:
        self._storage = storage_from_string(settings.redis_url or "memory://")
        self._limiter = SlidingWindowCounterRateLimiter(self._storage)
        self._per_ip = RateLimitItemPerMinute(settings.login_rate_per_minute)
        self._per_account = RateLimitItemPerMinute(settings.account_rate_per_minute)

    def close(self) -> None:
        """Release the connections of a shared (Redis) store; in memory there are none."""
        connect = getattr(self._storage, "get_connection", None)
        if connect is not None:
            connect().close()

    def hit(self, scope: str, *, ip: str, account: str | None = None) -> None:
        """Count one request of ``scope`` from ``ip`` (and for ``account``), or refuse it."""
        checks = [(self._per_ip, f"{scope}:ip", ip)]
        if account is not None:
            checks.append((self._per_account, f"{scope}:account", account))
        for item, namespace, key in checks:
            if not self._limiter.hit(item, namespace, key):
                reset_at = self._limiter.get_window_stats(item, namespace, key).reset_time
                raise TooManyAttempts(max(1, math.ceil(reset_at - time.time())))
