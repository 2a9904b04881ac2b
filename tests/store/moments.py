"""Fixed instants for the store tests (kept free of pytest so spawned workers import fast)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

T0 = datetime(2024, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)


def later(seconds: float) -> datetime:
    """``T0`` plus some seconds."""
    return T0 + timedelta(seconds=seconds)
