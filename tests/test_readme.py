"""The README's configuration section cannot drift from :class:`~twostep.config.Settings`.

The table between the markers is regenerated here in memory (``make readme`` writes it), and
every ``TWOSTEP_*`` name the README mentions must be a setting, or a variable the test suite
itself reads, so a renamed or removed setting cannot linger in the prose.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from scripts.settings_table import END, README, START, render

from twostep.config import Settings, env_name, settings_table

TESTS = Path(__file__).resolve().parent
NAME = re.compile(r"\bTWOSTEP_[A-Z0-9_]*[A-Z0-9]")


def readme() -> str:
    return README.read_text(encoding="utf-8")


def test_the_readme_configuration_table_is_the_settings() -> None:
    """Fails when a setting is added, removed or re-described without ``make readme``."""
    text = readme()
    assert render(text) == text, "run 'make readme' to regenerate the table"


def test_the_table_has_every_setting_with_its_default_and_description() -> None:
    table = readme().partition(START)[2].partition(END)[0]
    rows = {row.split(" | ")[0].strip("| `"): row for row in table.splitlines()[2:]}
    assert list(rows) == [env_name(name) for name in Settings.model_fields]
    for name, info in Settings.model_fields.items():
        assert info.description, f"{name} has no description"
        assert info.examples, f"{name} has no example (error messages show it)"
        default = info.get_default(call_default_factory=True)
        if default not in (None, "", []):
            shown = str(default).lower() if isinstance(default, bool) else str(default)
            assert f"| `{shown}` |" in rows[env_name(name)]


def test_a_changed_description_turns_the_check_red(monkeypatch: pytest.MonkeyPatch) -> None:
    """The drift check can fail: a setting described anew no longer matches the README."""
    text = readme()
    info = Settings.model_fields["port"]
    monkeypatch.setattr(info, "description", "A description the README does not have.")
    assert "A description the README does not have." in settings_table()
    assert render(text) != text


def suite_variables() -> set[str]:
    """``TWOSTEP_TEST_*`` names the test suite reads (documented in the README's Tests)."""
    found: set[str] = set()
    for path in TESTS.rglob("*.py"):
        if path.name != Path(__file__).name:
            found |= {n for n in NAME.findall(path.read_text("utf-8")) if "_TEST_" in n}
    return found


def test_every_variable_the_readme_names_is_real() -> None:
    settings = {env_name(name) for name in Settings.model_fields}
    known = settings | suite_variables()
    named = set(NAME.findall(readme()))
    assert named - known == set(), "the README names variables that nothing reads"
    assert {"TWOSTEP_TEST_STRICT", "TWOSTEP_TEST_DATABASE_URL"} <= known - settings


def test_a_stale_name_is_caught() -> None:
    assert NAME.findall("set `TWOSTEP_OLD_KNOB=1` and TWOSTEP_PORT.") == [
        "TWOSTEP_OLD_KNOB",
        "TWOSTEP_PORT",
    ]


EXAMPLES = README.parent / "examples" / "forward-auth"
FENCE = re.compile(r"```[a-z]*\n")


@pytest.mark.parametrize("name", ["nginx.conf", "Caddyfile", "traefik.yml", "rules.toml", "env"])
def test_the_proxy_configs_shown_are_the_ones_the_tests_run(name: str) -> None:
    """The README quotes each file of ``examples/forward-auth`` whole, as the tests run it."""
    shown = FENCE.sub("```\n", README.read_text(encoding="utf-8"))
    assert "```\n" + (EXAMPLES / name).read_text(encoding="utf-8") + "```" in shown
