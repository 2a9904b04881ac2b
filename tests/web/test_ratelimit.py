"""Rate limits shared through a real Redis server, as two worker processes would share them."""

from __future__ import annotations

from pathlib import Path

import pytest

from twostep.config import Settings
from twostep.errors import TooManyAttempts
from twostep.web.ratelimit import RateLimits


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
