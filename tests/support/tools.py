"""Finding the real external parts the suite talks to.

Outside CI a missing tool skips its tests with a message that names the Debian package to
install; under ``CI=true`` (or ``TWOSTEP_TEST_STRICT=1``) the same absence fails the test,
so a green CI run always means the real part was exercised.
"""

from __future__ import annotations

import os
import shutil

import pytest


def strict() -> bool:
    """True when a missing external part must fail rather than skip."""
    return (
        os.environ.get("CI", "").lower() == "true" or os.environ.get("TWOSTEP_TEST_STRICT") == "1"
    )


def unavailable(reason: str) -> None:
    """Skip (or, in strict mode, fail) the current test for a missing external part."""
    if strict():
        pytest.fail(f"{reason} (required when CI=true)")
    pytest.skip(reason)


def need_binary(name: str, package: str | None = None) -> str:
    """Return the path of ``name`` on PATH, or skip naming the Debian package to install."""
    path = shutil.which(name)
    if path is None:
        unavailable(f"{name} not found: install the Debian package '{package or name}'")
        raise AssertionError("unreachable")
    return path
