"""The user's phone in the browser tests: an authenticator app on real time.

A browser test talks to a live server whose clock is the real one, so its codes come from
``oathtool`` at the current time. The server accepts a code once per 30-second step, so
before each code the app waits, if need be, for a step after the last one it showed: the
one place in the suite that sleeps for TOTP, bounded by one step.
"""

from __future__ import annotations

import subprocess
import time

STEP = 30


class Authenticator:
    """An authenticator app for one base32 ``key``: codes at real time, never twice from the
    same step. ``last_step`` is the step the key last served (its enrollment, say)."""

    def __init__(self, oathtool: str, key: str, last_step: int = -1) -> None:
        self.oathtool, self.key, self.last_step = oathtool, key, last_step
        self.waits = 0
        """How often a code had to wait for the next step."""

    def code(self) -> str:
        """The current code, from a step after the last used one (waiting for it if need be)."""
        if int(time.time() // STEP) <= self.last_step:
            self.waits += 1
            deadline = (self.last_step + 1) * STEP
            while time.time() < deadline:  # real TOTP time, bounded by one step
                time.sleep(min(0.5, max(0.01, deadline - time.time())))
        at = int(time.time())
        self.last_step = at // STEP
        result = subprocess.run(
            [self.oathtool, "--totp", "-b", f"--now=@{at}", self.key],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        return result.stdout.strip()
