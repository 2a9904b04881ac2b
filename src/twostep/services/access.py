"""Access rules for forward authentication: which policy guards a request to a proxied app.

The rules are a TOML file (``TWOSTEP_ACCESS_RULES``), read and checked once at start; a
mistake is one line naming the file and the rule (``rules.toml: rule 3: unknown policy
'two-factor'``), so a server never runs on half-understood rules. Matching is pure and in
memory, because the proxy asks about every request of every app it protects::

    default_policy = "deny"

    [[rules]]
    domain = ["wiki.example.com", "*.apps.example.com"]
    path = "/admin/"                # a prefix, or path_regex = "^/api/v[0-9]+/"
    methods = ["POST", "DELETE"]    # any method when left out
    networks = ["10.0.0.0/8"]       # any client address when left out
    policy = "two_factor"           # bypass, one_factor, two_factor or deny
    max_age = 10                    # minutes since the last second factor (two_factor only)
    roles = ["admin"]               # any role when left out

The first rule whose every condition holds decides; none holding means ``default_policy``
(``deny`` unless set). A rule names at least one ``domain``; ``*.example.com`` matches any
subdomain of ``example.com`` (not ``example.com`` itself). Paths are matched after
:func:`normalize_path`, so ``/public/../admin`` cannot borrow the policy of ``/public/``.
"""

from __future__ import annotations

import ipaddress
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast
from urllib.parse import unquote

from twostep.errors import ConfigurationError

Policy = Literal["bypass", "one_factor", "two_factor", "deny"]
POLICIES: tuple[Policy, ...] = ("bypass", "one_factor", "two_factor", "deny")
ROLES = ("user", "admin")
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE")
RULE_KEYS = {"domain", "path", "path_regex", "methods", "networks", "policy", "max_age", "roles"}
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class AccessRequest:
    """What a proxied request is about: its host, path, method and the client's address."""

    host: str
    path: str
    method: str = "GET"
    ip: str | None = None


@dataclass(frozen=True, slots=True)
class Rule:
    """One rule: its conditions (empty means "any") and the policy it gives."""

    number: int
    domains: tuple[str, ...]
    policy: Policy
    paths: tuple[str, ...] = ()
    regexes: tuple[re.Pattern[str], ...] = ()
    methods: tuple[str, ...] = ()
    networks: tuple[Network, ...] = ()
    max_age: int | None = None
    """Minutes since the last second factor, at most (``two_factor`` only)."""
    roles: tuple[str, ...] = ()

    def matches(self, request: AccessRequest, path: str) -> bool:
        """Every condition holds for ``request`` (whose normalized path is ``path``)."""
        host = request.host
        if not any(_domain_matches(pattern, host) for pattern in self.domains):
            return False
        if self.methods and request.method not in self.methods:
            return False
        if self.paths and not any(path.startswith(prefix) for prefix in self.paths):
            return False
        if self.regexes and not any(regex.search(path) for regex in self.regexes):
            return False
        return not self.networks or _in_networks(request.ip, self.networks)


@dataclass(frozen=True, slots=True)
class AccessRules:
    """The rules in their order, and the policy when none matches."""

    rules: tuple[Rule, ...] = ()
    default_policy: Policy = "deny"

    def match(self, request: AccessRequest) -> Rule:
        """The first rule matching ``request``; the default (``number`` 0) when none does."""
        normalized = AccessRequest(
            host=normalize_host(request.host),
            path=request.path,
            method=request.method.upper(),
            ip=request.ip,
        )
        path = normalize_path(request.path)
        for rule in self.rules:
            if rule.matches(normalized, path):
                return rule
        return Rule(number=0, domains=("*",), policy=self.default_policy)


def normalize_host(host: str) -> str:
    """``App.Example.com:8443.`` → ``app.example.com``: lower case, no port, no final dot."""
    host = host.strip().lower()
    if host.startswith("["):  # an IPv6 literal keeps its colons
        return host.split("]", 1)[0] + "]"
    return host.rsplit(":", 1)[0].rstrip(".") if ":" in host else host.rstrip(".")


def normalize_path(raw: str) -> str:
    """The path as an app will read it: no query, percent-decoded, backslashes as slashes,
    dot segments resolved and repeated slashes collapsed (RFC 3986 §5.2.4)."""
    path = unquote(raw.split("?", 1)[0].split("#", 1)[0]).replace("\\", "/")
    out: list[str] = []
    for segment in path.split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if out:
                out.pop()
            continue
        out.append(segment)
    trailing = "/" if path.endswith(("/", "/.", "/..")) and out else ""
    return "/" + "/".join(out) + trailing


def _domain_matches(pattern: str, host: str) -> bool:
    if pattern == "*":
        return True
    if pattern.startswith("*."):
        return host.endswith(pattern[1:]) and len(host) > len(pattern) - 1
    return host == pattern


def _in_networks(ip: str | None, networks: tuple[Network, ...]) -> bool:
    try:
        address = ipaddress.ip_address(ip or "")
    except ValueError:
        return False
    return any(address in network for network in networks)


# --- loading and checking ----------------------------------------------------------------


class _Bad(Exception):
    """One problem of one rule; the loader adds the file and rule to it."""


def load_rules(path: Path | str) -> AccessRules:
    """Read and check the rules file; :class:`ConfigurationError` names the first problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "unreadable"
        raise ConfigurationError(f"{path.name}: cannot be read ({reason})") from None
    return parse_rules(text, path.name)


def parse_rules(text: str, name: str = "rules.toml") -> AccessRules:
    """The rules in TOML ``text`` (``name`` is the file named in errors)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"{name}: not valid TOML ({exc})") from None
    unknown = sorted(set(data) - {"default_policy", "rules"})
    if unknown:
        raise ConfigurationError(f"{name}: unknown setting '{unknown[0]}'")
    try:
        default = _policy(data.get("default_policy", "deny"))
    except _Bad as exc:
        raise ConfigurationError(f"{name}: default_policy: {exc}") from None
    entries = data.get("rules", [])
    if not isinstance(entries, list):
        raise ConfigurationError(f"{name}: 'rules' must be a list of [[rules]] tables")
    rules: list[Rule] = []
    for number, entry in enumerate(entries, start=1):
        try:
            if not isinstance(entry, dict):
                raise _Bad("must be a table")
            rules.append(_rule(number, entry))
        except _Bad as exc:
            raise ConfigurationError(f"{name}: rule {number}: {exc}") from None
    return AccessRules(tuple(rules), default)


def _rule(number: int, entry: Mapping[str, Any]) -> Rule:
    unknown = sorted(set(entry) - RULE_KEYS)
    if unknown:
        raise _Bad(f"unknown key '{unknown[0]}'")
    if "policy" not in entry:
        raise _Bad("needs a policy (bypass, one_factor, two_factor or deny)")
    policy = _policy(entry["policy"])
    domains = tuple(_domain(d) for d in _strings(entry, "domain"))
    if not domains:
        raise _Bad('needs a domain (e.g. domain = "app.example.com")')
    if "path" in entry and "path_regex" in entry:
        raise _Bad("has both path and path_regex: choose one")
    paths = tuple(_prefix(p) for p in _strings(entry, "path"))
    regexes = tuple(_regex(r) for r in _strings(entry, "path_regex"))
    methods = tuple(_method(m) for m in _strings(entry, "methods"))
    networks = tuple(_network(n) for n in _strings(entry, "networks"))
    roles = tuple(_role(r) for r in _strings(entry, "roles"))
    max_age = entry.get("max_age")
    if max_age is not None:
        if policy != "two_factor":
            raise _Bad("max_age needs policy 'two_factor'")
        if isinstance(max_age, bool) or not isinstance(max_age, int) or not 1 <= max_age <= 1440:
            raise _Bad("max_age must be whole minutes from 1 to 1440")
    if roles and policy in ("bypass", "deny"):
        raise _Bad(f"roles mean nothing with policy '{policy}'")
    return Rule(
        number, domains, policy, paths, regexes, methods, networks, max_age, roles
    )  # fmt: skip


def _strings(entry: Mapping[str, Any], key: str) -> Sequence[str]:
    value = entry.get(key, [])
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not all(isinstance(v, str) and v for v in values):
        raise _Bad(f"{key} must be a string or a list of strings")
    return cast(list[str], values)


def _policy(value: object) -> Policy:
    for policy in POLICIES:
        if value == policy:
            return policy
    raise _Bad(f"unknown policy {_shown(value)} (bypass, one_factor, two_factor or deny)")


_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_DOMAIN = re.compile(rf"(?:\*\.)?{_LABEL}(?:\.{_LABEL})*")


def _domain(value: str) -> str:
    domain = value.strip().lower().rstrip(".")
    if not _DOMAIN.fullmatch(domain):
        raise _Bad(f"domain {_shown(value)} is not a host name or *.wildcard")
    return domain


def _prefix(value: str) -> str:
    if not value.startswith("/"):
        raise _Bad(f"path {_shown(value)} must start with /")
    return normalize_path(value)


def _regex(value: str) -> re.Pattern[str]:
    try:
        return re.compile(value)
    except re.error as exc:
        raise _Bad(f"path_regex {_shown(value)} is not a regular expression ({exc})") from None


def _method(value: str) -> str:
    if value.upper() not in METHODS:
        raise _Bad(f"unknown method {_shown(value)}")
    return value.upper()


def _network(value: str) -> Network:
    try:
        return ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        raise _Bad(f"network {_shown(value)} is not an address or network") from None


def _role(value: str) -> str:
    if value not in ROLES:
        raise _Bad(f"unknown role {_shown(value)} (user or admin)")
    return value


def _shown(value: object) -> str:
    return repr(value) if isinstance(value, str) and len(value) <= 60 else repr(str(value)[:60])
