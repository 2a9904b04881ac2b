"""Access rules: parsed once with one-line errors naming the rule, matched first-wins."""

from __future__ import annotations

from pathlib import Path

import pytest

from twostep.errors import ConfigurationError
from twostep.services.access import (
    AccessRequest,
    AccessRules,
    load_rules,
    normalize_path,
    parse_rules,
)

RULES = """
default_policy = "one_factor"

[[rules]]
domain = "app.example.com"
path = "/public/"
policy = "bypass"

[[rules]]
domain = ["*.example.com"]
path_regex = "^/api/v[0-9]+/admin"
methods = ["POST", "delete"]
policy = "deny"

[[rules]]
domain = "*.example.com"
path = ["/admin/", "/settings"]
policy = "two_factor"
max_age = 10
roles = ["admin"]

[[rules]]
domain = "app.example.com"
networks = ["10.0.0.0/8", "2001:db8::/32"]
policy = "bypass"

[[rules]]
domain = "app.example.com"
policy = "two_factor"
"""


@pytest.fixture(scope="module")
def rules() -> AccessRules:
    return parse_rules(RULES)


@pytest.mark.parametrize(
    ("host", "path", "method", "ip", "number"),
    [
        ("app.example.com", "/public/logo.png", "GET", None, 1),
        ("APP.example.com:8443", "/public/x", "GET", None, 1),  # case and port do not matter
        ("app.example.com.", "/public/x", "GET", None, 1),  # nor a final dot
        ("wiki.example.com", "/public/x", "GET", None, 0),  # rule 1 is for app. only
        ("app.example.com", "/public/../admin/users", "GET", None, 3),  # dot segments resolved
        ("app.example.com", "/public/%2e%2e/admin/x", "GET", None, 3),  # even encoded
        ("app.example.com", "/public\\..\\admin/x", "GET", None, 3),  # backslashes are slashes
        ("app.example.com", "//public/x", "GET", None, 1),  # repeated slashes collapse
        ("app.example.com", "/api/v2/admin/users", "POST", None, 2),
        ("app.example.com", "/api/v2/admin/users", "DELETE", None, 2),  # methods in any case
        ("app.example.com", "/api/v2/admin/users", "GET", None, 5),
        ("deep.sub.example.com", "/settings/profile", "GET", None, 3),
        ("example.com", "/settings", "GET", None, 0),  # *.example.com is not the apex
        ("evil-example.com", "/settings", "GET", None, 0),
        ("app.example.com", "/home", "GET", "10.1.2.3", 4),
        ("app.example.com", "/home", "GET", "2001:db8::1", 4),
        ("app.example.com", "/home", "GET", "192.0.2.1", 5),
        ("app.example.com", "/home", "GET", "not-an-ip", 5),
        ("app.example.com", "/public/?q=1", "GET", None, 1),  # the query is not the path
        ("other.test", "/", "GET", None, 0),
    ],
)
def test_the_first_matching_rule_decides(
    rules: AccessRules, host: str, path: str, method: str, ip: str | None, number: int
) -> None:
    assert rules.match(AccessRequest(host, path, method, ip)).number == number


def test_the_default_policy_applies_when_no_rule_matches(rules: AccessRules) -> None:
    assert rules.match(AccessRequest("other.test", "/")).policy == "one_factor"
    assert parse_rules("").match(AccessRequest("other.test", "/")).policy == "deny"


def test_order_matters_an_earlier_rule_shadows_a_later_one() -> None:
    text = """
    [[rules]]
    domain = "app.example.com"
    policy = "deny"
    [[rules]]
    domain = "app.example.com"
    path = "/public/"
    policy = "bypass"
    """
    rules = parse_rules(text)
    assert rules.match(AccessRequest("app.example.com", "/public/x")).policy == "deny"


def test_a_rule_carries_max_age_and_roles(rules: AccessRules) -> None:
    rule = rules.match(AccessRequest("app.example.com", "/admin/"))
    assert (rule.policy, rule.max_age, rule.roles) == ("two_factor", 10, ("admin",))


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("/", "/"),
        ("", "/"),
        ("/a/b/", "/a/b/"),
        ("/a/./b", "/a/b"),
        ("/a/../../b", "/b"),
        ("/a/..", "/"),
        ("/a/%2F..%2Fb", "/b"),
        ("/a//b?x=/../c", "/a/b"),
        ("/a#/../b", "/a"),
    ],
)
def test_paths_are_normalized_as_an_app_reads_them(raw: str, normalized: str) -> None:
    assert normalize_path(raw) == normalized


RULE = '[[rules]]\ndomain = "app.example.com"\n'


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("[[rules]\n", "rules.toml: not valid TOML"),
        ('default_policy = "allow"\n', "rules.toml: default_policy: unknown policy 'allow'"),
        ('colour = "red"\n', "rules.toml: unknown setting 'colour'"),
        ('rules = "x"\n', "rules.toml: 'rules' must be a list"),
        (RULE + 'policy = "two-factor"\n', "rules.toml: rule 1: unknown policy 'two-factor'"),
        (RULE, "rules.toml: rule 1: needs a policy"),
        ('[[rules]]\npolicy = "bypass"\n', "rules.toml: rule 1: needs a domain"),
        ('[[rules]]\ndomain = "a b"\npolicy = "bypass"\n', "rule 1: domain 'a b' is not a host"),
        ('[[rules]]\ndomain = "*"\npolicy = "bypass"\n', "rule 1: domain '*' is not a host"),
        (RULE + 'policy = "bypass"\npath = "admin"\n', "rule 1: path 'admin' must start with /"),
        (RULE + 'policy = "bypass"\npath_regex = "("\n', "rule 1: path_regex '(' is not a regular"),
        (RULE + 'policy = "bypass"\npath = "/a"\npath_regex = "/b"\n', "rule 1: has both path"),
        (RULE + 'policy = "bypass"\nmethods = ["FETCH"]\n', "rule 1: unknown method 'FETCH'"),
        (RULE + 'policy = "bypass"\nnetworks = ["10.0.0.0/33"]\n', "rule 1: network '10.0.0.0/33'"),
        (RULE + 'policy = "one_factor"\nroles = ["root"]\n', "rule 1: unknown role 'root'"),
        (RULE + 'policy = "deny"\nroles = ["admin"]\n', "rule 1: roles mean nothing with policy"),
        (
            RULE + 'policy = "one_factor"\nmax_age = 5\n',
            "rule 1: max_age needs policy 'two_factor'",
        ),
        (RULE + 'policy = "two_factor"\nmax_age = 0\n', "rule 1: max_age must be whole minutes"),
        (RULE + 'policy = "two_factor"\nmax_age = true\n', "rule 1: max_age must be whole minutes"),
        (RULE + 'policy = "two_factor"\nmax_age = 2.5\n', "rule 1: max_age must be whole minutes"),
        (RULE + 'policy = "bypass"\npaths = "/a"\n', "rule 1: unknown key 'paths'"),
        (RULE + 'policy = "bypass"\nmethods = [1]\n', "rule 1: methods must be a string or a list"),
        (RULE + 'policy = "bypass"\n' + RULE + 'policy = "two-factor"\n', "rules.toml: rule 2:"),
    ],
)
def test_a_mistake_is_one_line_naming_the_rule(text: str, problem: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        parse_rules(text)
    assert problem in caught.value.message
    assert "\n" not in caught.value.message


def test_the_example_in_the_issue_is_reported_as_written() -> None:
    text = (RULE + 'policy = "bypass"\n') * 2 + RULE + 'policy = "two-factor"\n'
    with pytest.raises(ConfigurationError) as caught:
        parse_rules(text)
    assert caught.value.message.startswith("rules.toml: rule 3: unknown policy 'two-factor'")


def test_load_rules_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "access.toml"
    path.write_text(RULE + 'policy = "nope"\n', encoding="utf-8")
    with pytest.raises(ConfigurationError, match=r"^access\.toml: rule 1: unknown policy"):
        load_rules(path)
    with pytest.raises(ConfigurationError, match=r"^missing\.toml: cannot be read"):
        load_rules(tmp_path / "missing.toml")
    path.write_bytes(b"\xff\xfe")
    with pytest.raises(ConfigurationError, match="cannot be read"):
        load_rules(path)
