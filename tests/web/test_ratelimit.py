"""Rate limits shared through a real Redis server, as two worker processes would share them."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.tools import need_binary
from twostep.config import Settings
from twostep.errors import TooManyAttempts
from twostep.web.ratelimit import RateLimits


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    binary = need_binary("redis-server")
    port = _free_port()
    workdir: Path = tmp_path_factory.mktemp("redis")
    server = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(workdir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.05)  # waiting for a real server process to listen
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.terminate()
        server.wait(timeout=10)


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
