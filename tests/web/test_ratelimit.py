"""Rate limits shared through a real Redis server, as two worker processes would share them."""

from __future__ import annotations

from pathlib import Path

import pytest

from twostep.config import Settings
from twostep.errors import TooManyAttempts
from twostep.web.ratelimit import RateLimits, WindowCounts


def test_two_workers_share_one_account_limit(redis_url: str, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, redis_url=redis_url, account_rate_per_minute=3)
    first, second = RateLimits(settings), RateLimits(settings)
    for limits in (first, second, first):
        limits.hit("login", ip="198.51.100.1", account="shared@example.com")
    try:
        with pytest.raises(TooManyAttempts) as caught:
            second.hit("login", ip="198.51.100.2", account="shared@example.com")
        assert 0 < caught.value.retry_after <= 60
        second.hit("login", ip="198.51.100.2", account="other@example.com")
    finally:
        first.close()
        second.close()


def test_in_memory_limits_are_per_process(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, account_rate_per_minute=2)
    first, second = RateLimits(settings), RateLimits(settings)
    for _ in range(2):
        first.hit("login", ip="198.51.100.1", account="a@example.com")
        second.hit("login", ip="198.51.100.1", account="a@example.com")
    with pytest.raises(TooManyAttempts):
        first.hit("login", ip="198.51.100.1", account="a@example.com")


class Clock:
    def __init__(self, at: float) -> None:
        self.at = at

    def __call__(self) -> float:
        return self.at


def test_a_window_allows_the_limit_then_names_the_wait() -> None:
    clock = Clock(6000.0)  # the start of a window
    counts = WindowCounts(now=clock)
    assert [counts.hit("k", 3) for _ in range(3)] == [0, 0, 0]
    assert counts.hit("k", 3) == 80  # this window, then until 3 × overlap + 1 ≤ 3: a third
    assert counts.hit("other", 3) == 0  # keys are counted apart


def test_the_previous_window_slides_out_by_its_overlap() -> None:
    clock = Clock(6000.0)
    counts = WindowCounts(now=clock)
    for _ in range(4):
        assert counts.hit("k", 4) == 0
    clock.at = 6060.0 + 15  # a quarter into the next window: 4 × 0.75 = 3 still count
    assert counts.hit("k", 4) == 0  # 3 + 0 + 1 ≤ 4
    wait = counts.hit("k", 4)  # 3 + 1 + 1 > 4: wait until 4 × overlap ≤ 2, half-way
    assert wait == 15
    clock.at += wait
    assert counts.hit("k", 4) == 0


def test_a_gap_of_two_windows_forgets_every_key() -> None:
    clock = Clock(6000.0)
    counts = WindowCounts(now=clock)
    assert counts.hit("k", 1) == 0
    assert counts.hit("k", 1) > 0
    clock.at += 120
    assert counts.hit("k", 1) == 0


def test_a_refusal_is_too_many_attempts_with_its_wait(tmp_path: Path) -> None:
    clock = Clock(6030.0)
    settings = Settings(data_dir=tmp_path, login_rate_per_minute=100, account_rate_per_minute=1)
    limits = RateLimits(settings, now=clock)
    limits.hit("login", ip="198.51.100.1", account="a@example.com")
    with pytest.raises(TooManyAttempts) as caught:
        limits.hit("login", ip="198.51.100.1", account="a@example.com")
    assert caught.value.retry_after == 90
