"""The suite's own layout: a test module imports its helpers from support modules, never
from another test module.

A test module is a leaf. Moving, splitting or renaming one (as when the module it mirrors is
renamed) must not break a second module that borrowed a helper or a fixture from it; a
shared helper lives in a support module (``tests/support/``, ``tests/<package>/support.py``)
and a shared fixture in the nearest ``conftest.py``.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TESTS = ROOT / "tests"


def _is_test_module(dotted: str) -> bool:
    return dotted.startswith("tests.") and any(p.startswith("test_") for p in dotted.split("."))


def imported_test_modules(path: Path, root: Path = ROOT) -> set[str]:
    """The ``test_*`` modules under ``tests`` that the module at ``path`` imports."""
    package = path.relative_to(root).with_suffix("").parts[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if _is_test_module(alias.name)}
        elif isinstance(node, ast.ImportFrom):
            parts = list(package[: len(package) - node.level + 1]) if node.level else []
            base = ".".join([*parts, *([node.module] if node.module else [])])
            if _is_test_module(base):
                found.add(base)
            else:  # ``from tests.web import test_app``
                names = (f"{base}.{alias.name}" for alias in node.names)
                found |= {name for name in names if _is_test_module(name)}
    return found


def test_no_test_module_imports_another_test_module() -> None:
    wrong = {
        f"{path.relative_to(ROOT)} imports {name}"
        for path in TESTS.rglob("test_*.py")
        for name in imported_test_modules(path)
    }
    assert not wrong, sorted(wrong)


def test_the_checker_sees_every_way_of_importing_a_test_module(tmp_path: Path) -> None:
    (tmp_path / "tests" / "web").mkdir(parents=True)
    module = tmp_path / "tests" / "web" / "test_m.py"
    module.write_text(
        "from tests.web.test_ratelimit import redis_url\n"
        "from tests.services import test_dump, conftest\n"
        "import tests.e2e.test_admin\n"
        "from . import test_app\n"
        "from .test_flows import PASSWORD\n"
        "from ..services.test_login import ORIGIN\n"
        "from tests.web.conftest import Api\n"
        "from tests.support.tools import need_binary\n"
        "from .people import enrolled\n"
        "import tests.support.concurrency\n"
    )
    assert imported_test_modules(module, root=tmp_path) == {
        "tests.web.test_ratelimit",
        "tests.services.test_dump",
        "tests.e2e.test_admin",
        "tests.web.test_app",
        "tests.web.test_flows",
        "tests.services.test_login",
    }
