"""Suite-wide fixtures. Feature fixtures live in ``tests/plugins`` and are registered here."""

from __future__ import annotations

pytest_plugins: list[str] = ["tests.plugins.database"]
