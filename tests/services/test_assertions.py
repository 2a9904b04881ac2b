"""A security key is checked like any factor: on the account's lockout, counted first.

Wrong answers count toward the same per-account lock as wrong codes, and a locked account
is refused even with a valid key (DESIGN §4.3); the lock is audited and mailed.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.services.conftest import ORIGIN
from tests.services.support import challenge_id
from tests.support.security_key import SoftKey
from twostep.errors import InvalidCode, TooManyAttempts
from twostep.mail import MemoryMailer
from twostep.services import login, sessions
from twostep.services import webauthn as keys
from twostep.services.context import Context
from twostep.store import users

RP_ID, ORIGIN_URL = "auth.example.test", "https://auth.example.test"


def with_key(ctx: Context, principal: sessions.Principal) -> SoftKey:
    key = SoftKey(RP_ID, ORIGIN_URL)
    ceremony = keys.registration_options(ctx, principal, ORIGIN)
    added = keys.register(ctx, principal, key.create(ceremony.options), "Key", ORIGIN)
    assert added.backup_codes is not None
    return key


def answer(ctx: Context, key: SoftKey, **bend: object) -> tuple[str, dict[str, object]]:
    started = challenge_id(ctx)
    options = keys.login_options(ctx, started)
    assert options is not None
    return started, key.get(options, **bend)  # type: ignore[arg-type]


def test_wrong_answers_lock_the_account_and_then_a_right_one_is_refused(
    ctx: Context,
    make_user: Callable[..., users.User],
    principal_for: Callable[[users.User], sessions.Principal],
    mailer: MemoryMailer,
) -> None:
    user = make_user()
    key = with_key(ctx, principal_for(user))
    lefts = []
    for _ in range(ctx.settings.lockout_threshold - 1):
        started, bent = answer(ctx, key, tamper=True)
        with pytest.raises(InvalidCode) as refused:
            login.complete(ctx, started, ORIGIN, webauthn=bent)
        lefts.append(refused.value.attempts_left)
    assert lefts == list(range(ctx.settings.lockout_threshold - 1, 0, -1))
    started, bent = answer(ctx, key, tamper=True)
    with pytest.raises(TooManyAttempts):
        login.complete(ctx, started, ORIGIN, webauthn=bent)
    assert mailer.last("account_locked").to == user.email
    started, right = answer(ctx, key)
    with pytest.raises(TooManyAttempts):  # locked: even a valid key is refused
        login.complete(ctx, started, ORIGIN, webauthn=right)


def test_a_right_answer_signs_in_with_hwk(
    ctx: Context,
    make_user: Callable[..., users.User],
    principal_for: Callable[[users.User], sessions.Principal],
) -> None:
    key = with_key(ctx, principal_for(make_user()))
    started, right = answer(ctx, key)
    issued = login.complete(ctx, started, ORIGIN, webauthn=right)
    assert list(issued.session.amr) == ["pwd", "hwk"] and issued.session.second_factor_at
