"""Forward authentication: the verdict per policy, the single-sign-on token, the return URL."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.services.conftest import ORIGIN, Enrolled, code_at
from tests.services.support import mark_elevated
from twostep.clock import ManualClock
from twostep.errors import NotFound
from twostep.services import admin, forward_auth, login, sessions
from twostep.services.access import AccessRequest, AccessRules, parse_rules
from twostep.services.context import Context
from twostep.store import users

RULES = """
[[rules]]
domain = "app.example.test"
path = "/public/"
policy = "bypass"
[[rules]]
domain = "app.example.test"
path = "/closed/"
policy = "deny"
[[rules]]
domain = "app.example.test"
path = "/fresh/"
policy = "two_factor"
max_age = 5
[[rules]]
domain = "app.example.test"
path = "/admin/"
policy = "one_factor"
roles = ["admin"]
[[rules]]
domain = "app.example.test"
path = "/2fa/"
policy = "two_factor"
[[rules]]
domain = "app.example.test"
policy = "one_factor"
"""


@pytest.fixture
def rules() -> AccessRules:
    return parse_rules(RULES)


def at(path: str) -> AccessRequest:
    return AccessRequest("app.example.test", path)


def signed_in_with_code(ctx: Context, enrolled: Enrolled, clock: ManualClock) -> str:
    """Sign in with password and code, as the pages do; the single-sign-on token."""
    result = login.login(ctx, enrolled.user.email, "correct horse battery staple", ORIGIN)
    assert isinstance(result, login.ChallengeIssued)
    issued = login.complete(ctx, result.challenge_id, ORIGIN, code=code_at(enrolled.secret, clock))
    token = forward_auth.issue_sso_token(ctx, sessions.resolve(ctx, issued.session.id))
    assert token is not None
    return token


def outcome(ctx: Context, rules: AccessRules, path: str, token: str | None) -> str:
    return forward_auth.check(ctx, rules, at(path), token).outcome


def test_bypass_and_deny_need_no_session(ctx: Context, rules: AccessRules) -> None:
    assert outcome(ctx, rules, "/public/x", None) == "allow"
    assert outcome(ctx, rules, "/closed/x", None) == "deny"
    assert outcome(ctx, rules, "/", None) == "sign_in"
    assert outcome(ctx, rules, "/", "not-a-token") == "sign_in"
    assert outcome(ctx, rules, "/", "x" * 500) == "sign_in"


def test_a_signed_in_user_with_a_code_is_allowed(
    ctx: Context, rules: AccessRules, enrolled: Enrolled, clock: ManualClock
) -> None:
    token = signed_in_with_code(ctx, enrolled, clock)
    verdict = forward_auth.check(ctx, rules, at("/2fa/x"), token)
    assert verdict.outcome == "allow"
    assert verdict.principal is not None and verdict.principal.user.id == enrolled.user.id
    assert outcome(ctx, rules, "/", token) == "allow"
    assert outcome(ctx, rules, "/closed/", token) == "deny"
    assert outcome(ctx, rules, "/admin/", token) == "deny"  # a user, not an admin


def test_max_age_sends_an_aged_second_factor_to_step_up(
    ctx: Context, rules: AccessRules, enrolled: Enrolled, clock: ManualClock
) -> None:
    token = signed_in_with_code(ctx, enrolled, clock)
    assert outcome(ctx, rules, "/fresh/", token) == "allow"
    clock.advance(5 * 60)
    assert outcome(ctx, rules, "/fresh/", token) == "allow"  # exactly five minutes: still fresh
    clock.advance(1)
    assert outcome(ctx, rules, "/fresh/", token) == "step_up"
    assert outcome(ctx, rules, "/2fa/", token) == "allow"  # without max_age, age does not matter


def test_a_password_only_session_steps_up_or_is_denied(
    ctx: Context,
    rules: AccessRules,
    make_user: Callable[..., users.User],
    principal_for: Callable[[users.User], sessions.Principal],
) -> None:
    principal = principal_for(make_user())
    token = forward_auth.issue_sso_token(ctx, principal)
    assert outcome(ctx, rules, "/", token) == "allow"
    verdict = forward_auth.check(ctx, rules, at("/2fa/"), token)
    assert (verdict.outcome, verdict.reason) == (
        "deny",
        "needs a second factor; the account has none",
    )
    with_device = forward_auth.judge(
        verdict.rule, sessions.Principal(principal.user, principal.session, True), ctx.clock.now()
    )
    assert with_device.outcome == "step_up"


def test_roles_admit_an_admin(
    ctx: Context,
    rules: AccessRules,
    make_user: Callable[..., users.User],
    principal_for: Callable[[users.User], sessions.Principal],
) -> None:
    token = forward_auth.issue_sso_token(ctx, principal_for(make_user(role="admin")))
    assert outcome(ctx, rules, "/admin/x", token) == "allow"


def test_sign_out_ends_single_sign_on_on_the_next_request(
    ctx: Context, rules: AccessRules, enrolled: Enrolled, clock: ManualClock
) -> None:
    token = signed_in_with_code(ctx, enrolled, clock)
    principal = forward_auth.principal_for_sso(ctx, token)
    assert principal is not None
    sessions.revoke(ctx, principal, principal.session.id, ORIGIN)
    assert outcome(ctx, rules, "/", token) == "sign_in"


def test_an_admin_revocation_ends_it_at_once(
    ctx: Context,
    rules: AccessRules,
    enrolled: Enrolled,
    clock: ManualClock,
    make_user: Callable[..., users.User],
    principal_for: Callable[[users.User], sessions.Principal],
) -> None:
    token = signed_in_with_code(ctx, enrolled, clock)
    operator = mark_elevated(ctx, principal_for(make_user("root@example.com", role="admin")))
    admin.revoke_sessions(ctx, operator, enrolled.user.id, ORIGIN)
    assert outcome(ctx, rules, "/", token) == "sign_in"


def test_a_new_token_ends_the_previous_one(
    ctx: Context, rules: AccessRules, enrolled: Enrolled, clock: ManualClock
) -> None:
    first = signed_in_with_code(ctx, enrolled, clock)
    principal = forward_auth.principal_for_sso(ctx, first)
    assert principal is not None
    second = forward_auth.issue_sso_token(ctx, principal)
    assert outcome(ctx, rules, "/", first) == "sign_in"
    assert outcome(ctx, rules, "/", second) == "allow"


def test_the_session_token_is_not_a_sign_on_token(
    ctx: Context,
    rules: AccessRules,
    make_user: Callable[..., users.User],
) -> None:
    user = make_user()
    with ctx.db.transaction() as tx:
        issued = sessions.start(tx, ctx, user, amr=["pwd"], at=ctx.clock.now(), origin=ORIGIN)
    assert outcome(ctx, rules, "/", issued.refresh_token) == "sign_in"


def test_a_deactivated_user_is_refused(
    ctx: Context,
    rules: AccessRules,
    make_user: Callable[..., users.User],
    principal_for: Callable[[users.User], sessions.Principal],
) -> None:
    user = make_user()
    token = forward_auth.issue_sso_token(ctx, principal_for(user))
    with ctx.db.transaction() as tx:
        users.set_active(tx, user.id, False)
    assert outcome(ctx, rules, "/", token) == "sign_in"


def test_explain_walks_the_states_of_a_user(
    ctx: Context, rules: AccessRules, enrolled: Enrolled
) -> None:
    found = forward_auth.explain(ctx, rules, at("/fresh/x"), "Alice@example.com ")
    assert found.rule.number == 3 and found.two_factor
    assert [(label, v.outcome) for label, v in found.cases] == [
        ("signed out", "sign_in"),
        ("signed in with a password", "step_up"),
        ("just after a second factor", "allow"),
        ("6 min after a second factor", "step_up"),
    ]
    with pytest.raises(NotFound):
        forward_auth.explain(ctx, rules, at("/"), "nobody@example.com")


DOMAIN = "example.test"


@pytest.mark.parametrize(
    "url",
    [
        "https://app.example.test/",
        "https://app.example.test:8443/a?b=c#d",
        "https://example.test/",
        "https://a.b.example.test/path",
        "https://APP.example.test/",
    ],
)
def test_return_urls_on_the_cookie_domain_are_allowed(url: str) -> None:
    assert forward_auth.return_url_allowed(url, DOMAIN, allow_http=False)


@pytest.mark.parametrize(
    "url",
    [
        "",
        "https://evil.test/",
        "https://example.test.evil.test/",
        "https://evilexample.test/",
        "//app.example.test/",
        "///app.example.test/",
        "/local/path",
        "https://app.example.test@evil.test/",
        "https://evil.test@app.example.test/",
        "https://user:pw@app.example.test/",
        "https:\\\\app.example.test/",
        "https://app.example.test\\@evil.test/",
        "https:/app.example.test/",
        "https:app.example.test/",
        "javascript:alert(1)//app.example.test",
        "javascript%3Aalert(1)",
        "data:text/html,https://app.example.test/",
        "https%3A%2F%2Fapp.example.test/",
        "https://app%2eexample.test/",
        "https://evil.test%2f.example.test/",
        "https://app.example.test /",
        "https://app.example.test/\x00",
        "https://app.example.test/\n",
        " https://app.example.test/",
        "https://app.example.test:99999/",
        "https://app.example.test:x/",
        "http://app.example.test/",
        "ftp://app.example.test/",
        "https://[::1]/",
        "https://exampl\u0435.test/",
        "https://app.example.test/" + "a" * 2100,
    ],
)
def test_other_return_urls_are_refused(url: str) -> None:
    assert not forward_auth.return_url_allowed(url, DOMAIN, allow_http=False)


def test_http_return_urls_only_when_allowed() -> None:
    url = "http://app.example.test:8080/"
    assert forward_auth.return_url_allowed(url, DOMAIN, allow_http=True)
    assert not forward_auth.return_url_allowed(url, DOMAIN, allow_http=False)
    assert not forward_auth.return_url_allowed(url, None, allow_http=True)
