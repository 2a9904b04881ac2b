"""Imports go downward only (DESIGN §2): a test that reads the imports of every module.

``otp`` → ``security`` → ``store`` → ``services`` → ``web`` / ``integrations`` / ``cli``:
a module may import its own layer and the layers below, never one above. The web layer
reaches data only through services, so it may not import ``twostep.store`` either. Only the
store speaks SQL: no service imports ``sqlalchemy`` or ``twostep.store.tables``. The
settings and their rules (``config``, ``settings_rules``, ``smtp_url``) sit below them all.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "twostep"
FORBIDDEN: dict[str, set[str]] = {
    "otp": {"security", "store", "services", "web", "integrations", "cli", "mail", "config"},
    "security": {"store", "services", "web", "integrations", "cli"},
    "store": {"services", "web", "integrations", "cli"},
    "services": {"web", "integrations", "cli"},
    "web": {"store", "integrations", "cli"},
    "integrations": {"store", "services", "web", "cli"},
}


def _imports(path: Path) -> set[str]:
    """The ``twostep`` subpackages a module imports (first name after ``twostep.``)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.ImportFrom) and node.module == "twostep" and node.level == 0:
            names = [f"twostep.{alias.name}" for alias in node.names]  # from twostep import x
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "twostep" and len(parts) > 1:
                found.add(parts[1])
    return found


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_imports_go_downward_only(layer: str) -> None:
    wrong = {
        f"{path.relative_to(SRC)} imports twostep.{target}"
        for path in (SRC / layer).rglob("*.py")
        for target in _imports(path) & FORBIDDEN[layer]
    }
    assert not wrong, sorted(wrong)


# Settings and their rules sit below every layer: each layer reads them, they read none.
BOTTOM = {"errors", "clock", "config", "settings_rules", "smtp_url"}


@pytest.mark.parametrize("module", sorted(BOTTOM))
def test_settings_and_their_rules_import_no_layer(module: str) -> None:
    assert _imports(SRC / f"{module}.py") <= BOTTOM


def test_the_checker_sees_an_upward_import(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text(
        "from twostep.store import users\nimport twostep.services.login\nfrom twostep import web\n"
    )
    assert _imports(module) == {"store", "services", "web"}


SQL_MODULES = ("sqlalchemy", "twostep.store.tables")
"""What only the store may import: services decide, and ask ``twostep.store`` for data."""


def _is_sql(name: str) -> bool:
    return any(name == sql or name.startswith(f"{sql}.") for sql in SQL_MODULES)


def _sql_imports(path: Path) -> set[str]:
    """The SQL modules (or their submodules) a module imports, ``from twostep.store import
    tables`` included."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        found.update(name for name in names if _is_sql(name))
    return found


def test_only_the_store_speaks_sql() -> None:
    wrong = {
        f"{path.relative_to(SRC)} imports {name}"
        for path in (SRC / "services").rglob("*.py")
        for name in _sql_imports(path)
    }
    assert not wrong, sorted(wrong)


def test_the_checker_sees_sql_in_a_service(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text(
        "import sqlalchemy.orm\nfrom sqlalchemy import select\n"
        "from twostep.store import tables, users\nfrom twostep.store.users import get\n"
    )
    assert _sql_imports(module) == {
        "sqlalchemy.orm", "sqlalchemy", "sqlalchemy.select", "twostep.store.tables",
    }  # fmt: skip
