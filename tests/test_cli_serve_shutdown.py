"""``twostep serve`` under load stops cleanly on SIGTERM (the server stack: uvloop, httptools).

Clients keep password sign-ins in flight (argon2id in the thread pool); SIGTERM then ends
the process within the graceful timeout, after uvicorn's orderly shutdown. Every answer
given before the end is a 401 (wrong password), never a 5xx, and the server's output holds
no traceback.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import httpx2 as httpx

from tests.support.waiting import wait_for


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_sigterm_under_load_ends_the_server_cleanly(tmp_path: Path) -> None:
    port = _free_port()
    env = {
        **os.environ,
        "TWOSTEP_ENV": "development",
        "TWOSTEP_DATA_DIR": str(tmp_path / "data"),
        "TWOSTEP_LOGIN_RATE_PER_MINUTE": "1000000",
        "TWOSTEP_ACCOUNT_RATE_PER_MINUTE": "1000000",
    }
    log_path = tmp_path / "server.log"
    output = log_path.open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "twostep", "serve", "--port", str(port)],
        env=env, stdout=output, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        assert process.poll() is None, "twostep serve exited"
        try:
            return httpx.get(f"{base}/healthz", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    statuses: list[int] = []
    stop = threading.Event()

    def sign_in_again_and_again(n: int) -> None:
        with httpx.Client(timeout=30) as client:
            while not stop.is_set():
                try:
                    response = client.post(
                        f"{base}/api/v1/auth/login",
                        json={"email": f"nobody{n}@example.test", "password": "not it at all"},
                    )
                except httpx.TransportError:  # refused once the server stops accepting
                    return
                statuses.append(response.status_code)

    clients = [threading.Thread(target=sign_in_again_and_again, args=(n,)) for n in range(8)]
    try:
        wait_for(healthy, timeout=60, failure="twostep serve did not start")
        for client in clients:
            client.start()
        wait_for(lambda: len(statuses) >= 16, timeout=60, failure="no sign-ins were answered")
        process.send_signal(signal.SIGTERM)  # with sign-ins in flight
        # uvicorn shuts down gracefully, then re-raises the signal it caught: the exit status
        # says "ended by SIGTERM", as a supervisor expects; the log says it was graceful.
        assert process.wait(timeout=30) in (0, -signal.SIGTERM)
    finally:
        stop.set()
        if process.poll() is None:
            process.kill()
        for client in clients:
            client.join(timeout=30)
        output.close()
    log = log_path.read_text()
    assert statuses and set(statuses) == {401}, sorted(set(statuses))
    assert "Traceback" not in log and "ERROR" not in log
    assert "Waiting for application shutdown" in log and "Finished server process" in log
