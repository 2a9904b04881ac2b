"""``twostep rules``: check an access-rules file, and explain what it does to a URL and a user.

Operators run these before pointing a proxy at twostep: ``check`` reports the first problem
as one line naming the rule (the same line the server would refuse to start with), and
``explain`` shows which rule a URL meets and what a given account meets there.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated
from urllib.parse import urlsplit

import typer

from twostep.errors import ConfigurationError

if TYPE_CHECKING:
    from twostep.services.access import Rule

rules_app = typer.Typer(help="Check and explain forward-auth access rules.", no_args_is_help=True)

RulesOption = Annotated[
    Path | None,
    typer.Option("--rules", help="The rules file (default: TWOSTEP_ACCESS_RULES)."),
]


def describe_rule(rule: Rule) -> str:
    """``rule 2: two_factor (max_age 10 min; roles admin)``, or the default policy."""
    extras = []
    if rule.max_age is not None:
        extras.append(f"max_age {rule.max_age} min")
    if rule.roles:
        extras.append(f"roles {', '.join(rule.roles)}")
    detail = f" ({'; '.join(extras)})" if extras else ""
    if rule.number == 0:
        return f"no rule matches: default {rule.policy}"
    return f"rule {rule.number}: {rule.policy}{detail}"


@rules_app.command("check")
def check(file: Annotated[Path, typer.Argument(help="The TOML rules file.")]) -> None:
    """Read FILE as the server would; one line per rule, or the first problem."""
    from twostep.services.access import load_rules

    rules = load_rules(file)
    for rule in rules.rules:
        where = ", ".join(rule.domains)
        paths = [*rule.paths, *(regex.pattern for regex in rule.regexes)]
        if paths:
            where += " " + " ".join(paths)
        if rule.methods:
            where += f" [{' '.join(rule.methods)}]"
        if rule.networks:
            where += " from " + ", ".join(str(n) for n in rule.networks)
        typer.echo(f"{describe_rule(rule)}  {where}")
    typer.echo(f"{file.name}: {len(rules.rules)} rules, default {rules.default_policy}: ok")


@rules_app.command("explain")
def explain(
    url: Annotated[str, typer.Argument(help="The URL a browser asks for.")],
    user: Annotated[str, typer.Option("--user", help="The account's email address.")],
    method: Annotated[str, typer.Option("--method", help="The request method.")] = "GET",
    ip: Annotated[str | None, typer.Option("--ip", help="The client's address.")] = None,
    rules_file: RulesOption = None,
) -> None:
    """Which rule URL meets, and what USER meets there, signed out and signed in."""
    from twostep.cli import settings
    from twostep.services import forward_auth
    from twostep.services.access import AccessRequest, load_rules
    from twostep.services.context import build_context
    from twostep.services.operations import prepare_database

    configured = settings()
    path = rules_file or configured.access_rules
    if path is None:
        raise ConfigurationError("no rules file: pass --rules FILE or set TWOSTEP_ACCESS_RULES")
    rules = load_rules(path)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(f"{url[:80]!r} is not an absolute http(s) URL")
    target = parts.path or "/"
    request = AccessRequest(parts.netloc, target, method.upper(), ip)
    ctx = build_context(configured)
    prepare_database(configured, ctx.db)
    found = forward_auth.explain(ctx, rules, request, user)
    factor = "2FA on" if found.two_factor else "no second factor"
    typer.echo(f"{url}: {describe_rule(found.rule)}")
    typer.echo(f"{found.email} (role {found.role}, {factor}):")
    for label, verdict in found.cases:
        typer.echo(f"  {label}: {verdict.outcome.replace('_', ' ')} ({verdict.reason})")
