"""Forward authentication: may this browser reach this URL of an app behind the proxy?

A reverse proxy (nginx ``auth_request``, Traefik ``forwardAuth``, Caddy ``forward_auth``)
asks about every request of every app it protects, so a check costs one keyed hash and one
indexed read (:func:`twostep.store.principals.get_live_by_sso`): no password hashing, no
token signing, nothing cached, so a revoked session is refused on its very next request.

The browser proves its sign-in with the single-sign-on cookie, a random token issued by
:func:`issue_sso_token` onto the browser's own page session (its ``sso_hash``). Because it
is the same row, sign-out, a password reset and an administrator's revocation end single
sign-on with no extra step; because it is a different token from the session cookie's, an
app behind the proxy that sees it cannot act as the user at twostep itself.

:func:`judge` is the policy, pure: a :class:`Verdict` from a rule, a principal and a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal
from urllib.parse import urlsplit

from twostep.errors import NotFound
from twostep.security import keyed_hash, new_token
from twostep.security.tokens import proves_second_factor
from twostep.services import sessions
from twostep.services.access import AccessRequest, AccessRules, Rule
from twostep.services.context import Context
from twostep.settings_rules import in_domain
from twostep.store import devices as devices_store
from twostep.store import principals, users
from twostep.store import sessions as store

Outcome = Literal["allow", "sign_in", "step_up", "deny"]
MAX_TOKEN_LENGTH = 128


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the proxy is told, the rule that decided, and why (for logs and operators)."""

    outcome: Outcome
    rule: Rule
    reason: str
    principal: sessions.Principal | None = None


def sso_hash(ctx: Context, token: str) -> str:
    return keyed_hash(ctx.keyring.pepper, f"sso:{token}")


def issue_sso_token(ctx: Context, principal: sessions.Principal) -> str | None:
    """A new single-sign-on token for the browser's live session; the old one ends.

    ``None`` when the session ended meanwhile.
    """
    token = new_token()
    with ctx.db.transaction() as tx:
        live = store.set_sso_hash(tx, principal.session.id, sso_hash(ctx, token), ctx.clock.now())
    return token if live else None


def principal_for_sso(ctx: Context, token: str | None) -> sessions.Principal | None:
    """The active user and live session behind a single-sign-on token, else ``None``."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    at = ctx.clock.now()
    with ctx.db.transaction(readonly=True) as tx:
        principal = principals.get_live_by_sso(tx, sso_hash(ctx, token), at)
    if principal is None or not principal.user.is_active:
        return None
    sessions.touch_if_stale(ctx, principal, at)
    return principal


def check(ctx: Context, rules: AccessRules, request: AccessRequest, token: str | None) -> Verdict:
    """The verdict for ``request`` from the browser holding ``token``.

    ``bypass`` and ``deny`` are decided from the rule alone, without reading any session.
    """
    rule = rules.match(request)
    if rule.policy == "bypass":
        return Verdict("allow", rule, "bypass")
    if rule.policy == "deny":
        return Verdict("deny", rule, "denied by the rule")
    return judge(rule, principal_for_sso(ctx, token), ctx.clock.now())


def judge(rule: Rule, principal: sessions.Principal | None, at: datetime) -> Verdict:
    """The policy of ``rule`` applied to ``principal`` (``None``: not signed in) at ``at``.

    Signed in means a full session (an enrolment-only one is sent back to sign in). A
    ``two_factor`` rule needs ``amr`` to prove a second factor (DESIGN §4.12); ``max_age``
    needs the last one proven within that many minutes, and a user who owes one is sent to
    step up. An account without a device can never satisfy it and is denied.
    """
    if rule.policy == "bypass":
        return Verdict("allow", rule, "bypass", principal)
    if rule.policy == "deny":
        return Verdict("deny", rule, "denied by the rule", principal)
    if principal is None or principal.session.purpose != "full":
        return Verdict("sign_in", rule, "not signed in")
    role = principal.user.role
    if rule.roles and role not in rule.roles:
        return Verdict("deny", rule, f"role '{role}' is not one of {', '.join(rule.roles)}")
    if rule.policy == "one_factor":
        return Verdict("allow", rule, "signed in", principal)
    session = principal.session
    if not principal.two_factor and not proves_second_factor(session.amr):
        return Verdict("deny", rule, "needs a second factor; the account has none", principal)
    if not proves_second_factor(session.amr):
        return Verdict("step_up", rule, "signed in without a second factor", principal)
    if rule.max_age is not None:
        last = session.second_factor_at
        if last is None or at - last > timedelta(minutes=rule.max_age):
            reason = f"second factor older than {rule.max_age} min"
            return Verdict("step_up", rule, reason, principal)
    return Verdict("allow", rule, "second factor proven", principal)


def return_url_allowed(url: str, domain: str | None, *, allow_http: bool) -> bool:
    """``url`` is an http(s) URL on ``domain`` or a subdomain: no open redirects.

    Refused: another host, a scheme-relative ``//host``, userinfo (``https://a.example.com@evil``),
    backslashes, percent-encoding or anything but letters, digits, dots and dashes in the host,
    control characters and spaces, and ``http`` unless ``allow_http`` (a Secure cookie would
    not travel there anyway).
    """
    if not domain or not url or len(url) > 2048:
        return False
    if "\\" in url or any(ord(c) <= 0x20 or ord(c) == 0x7F for c in url):
        return False
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return False
    schemes = ("https", "http") if allow_http else ("https",)
    if parts.scheme not in schemes or not url.startswith(f"{parts.scheme}://"):
        return False
    if "@" in parts.netloc or port == 0:
        return False
    host = (parts.netloc.rsplit(":", 1)[0] if port is not None else parts.netloc).lower()
    if not host or not all(c.isalnum() or c in ".-" for c in host):
        return False
    return host.isascii() and in_domain(host.rstrip("."), domain)


@dataclass(frozen=True, slots=True)
class Explanation:
    """For operators: the rule a URL meets, and what a user meets there in each state."""

    rule: Rule
    email: str
    role: str
    two_factor: bool
    cases: tuple[tuple[str, Verdict], ...]


def explain(ctx: Context, rules: AccessRules, request: AccessRequest, email: str) -> Explanation:
    """What ``email`` would be answered at ``request``: signed out, signed in with a password,
    just after a second factor, and (for ``max_age``) once that factor has aged.

    Raises :class:`~twostep.errors.NotFound` for an unknown account (operators only).
    """
    at = ctx.clock.now()
    with ctx.db.transaction(readonly=True) as tx:
        user = users.get_by_email(tx, email.strip().lower())
        devices = devices_store.count_active(tx, user.id) if user is not None else 0
    if user is None:
        raise NotFound(f"No account has the address {email.strip()[:254]}.")
    rule = rules.match(request)

    def signed_in(amr: list[str], second_factor_at: datetime | None) -> sessions.Principal:
        session = store.UserSession(
            id="-", user_id=user.id, family_id="-", refresh_hash="-", purpose="full",
            amr=tuple(amr), auth_time=at, created_at=at, expires_at=at + timedelta(days=1),
            last_seen_at=at, revoked_at=None, elevated_until=None, ip=None, user_agent=None,
            second_factor_at=second_factor_at,
        )  # fmt: skip
        return sessions.Principal(user, session, devices > 0)

    cases = [("signed out", judge(rule, None, at))]
    cases.append(("signed in with a password", judge(rule, signed_in(["pwd"], None), at)))
    if devices:
        fresh = signed_in(["pwd", "otp"], at)
        cases.append(("just after a second factor", judge(rule, fresh, at)))
        if rule.max_age is not None:
            aged = signed_in(["pwd", "otp"], at - timedelta(minutes=rule.max_age + 1))
            label = f"{rule.max_age + 1} min after a second factor"
            cases.append((label, judge(rule, aged, at)))
    return Explanation(rule, user.email, user.role, devices > 0, tuple(cases))
