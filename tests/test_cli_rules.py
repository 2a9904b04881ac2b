"""``twostep rules check`` and ``twostep rules explain``: what operators run before a proxy."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

RULES = """
[[rules]]
domain = "app.example.test"
path = "/public/"
policy = "bypass"

[[rules]]
domain = "*.example.test"
path = "/admin/"
policy = "two_factor"
max_age = 5
roles = ["admin"]

[[rules]]
domain = "*.example.test"
policy = "two_factor"
"""


@pytest.fixture
def rules_file(tmp_path: Path) -> Path:
    path = tmp_path / "rules.toml"
    path.write_text(RULES, encoding="utf-8")
    return path


def run(tmp_path: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("TWOSTEP_")},
        "TWOSTEP_DATA_DIR": str(tmp_path / "data"),
    }
    return subprocess.run(
        [sys.executable, "-m", "twostep", *args],
        capture_output=True, text=True, input=stdin, env=env, timeout=60, check=False,
    )  # fmt: skip


def test_check_lists_the_rules(tmp_path: Path, rules_file: Path) -> None:
    result = run(tmp_path, "rules", "check", str(rules_file))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "rule 1: bypass  app.example.test /public/",
        "rule 2: two_factor (max_age 5 min; roles admin)  *.example.test /admin/",
        "rule 3: two_factor  *.example.test",
        "rules.toml: 3 rules, default deny: ok",
    ]


def test_check_reports_one_line_naming_the_rule(tmp_path: Path, rules_file: Path) -> None:
    broken = RULES.replace('policy = "bypass"', 'policy = "two-factor"')
    rules_file.write_text(broken, encoding="utf-8")
    result = run(tmp_path, "rules", "check", str(rules_file))
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "error: rules.toml: rule 1: unknown policy 'two-factor' "
        "(bypass, one_factor, two_factor or deny)"
    )
    missing = run(tmp_path, "rules", "check", str(tmp_path / "none.toml"))
    assert missing.returncode == 2 and "none.toml: cannot be read" in missing.stderr


def test_explain_shows_what_a_user_meets(tmp_path: Path, rules_file: Path) -> None:
    created = run(tmp_path, "users", "create", "alice@example.com", "--password-stdin",
                  stdin="a long user passphrase\n")  # fmt: skip
    assert created.returncode == 0, created.stderr
    url = "https://wiki.example.test/admin/x"
    result = run(tmp_path, "rules", "explain", url, "--user", "alice@example.com",
                 "--rules", str(rules_file))  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"{url}: rule 2: two_factor (max_age 5 min; roles admin)",
        "alice@example.com (role user, no second factor):",
        "  signed out: sign in (not signed in)",
        "  signed in with a password: deny (role 'user' is not one of admin)",
    ]
    public = run(tmp_path, "rules", "explain", "https://app.example.test/public/a",
                 "--user", "alice@example.com", "--rules", str(rules_file))  # fmt: skip
    assert public.stdout.splitlines()[0].endswith("rule 1: bypass")
    other = run(tmp_path, "rules", "explain", "https://other.test/", "--user",
                "alice@example.com", "--rules", str(rules_file))  # fmt: skip
    assert "no rule matches: default deny" in other.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["https://app.example.test/", "--user", "nobody@example.com"], "No account has"),
        (["app.example.test/", "--user", "alice@example.com"], "is not an absolute http(s) URL"),
    ],
)
def test_explain_mistakes_are_one_line(
    tmp_path: Path, rules_file: Path, args: list[str], message: str
) -> None:
    result = run(tmp_path, "rules", "explain", *args, "--rules", str(rules_file))
    assert result.returncode == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_explain_needs_a_rules_file(tmp_path: Path) -> None:
    result = run(tmp_path, "rules", "explain", "https://a.example.test/", "--user", "a@b.test")
    assert result.returncode == 2 and "TWOSTEP_ACCESS_RULES" in result.stderr
