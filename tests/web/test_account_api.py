"""The account API (``/api/v1/me``): the address change answers without telling who exists."""

from __future__ import annotations

from typing import cast

from fastapi import FastAPI

from tests.web.conftest import Api
from tests.web.people import enrolled
from twostep.web.ratelimit import RateLimits


def test_a_taken_and_a_free_address_get_the_same_answer(api: Api) -> None:
    alice = enrolled(api, "alice@example.com")
    enrolled(api, "bob@example.com")
    free = api.post("/me/email", alice.token, json={"new_email": "carol@example.com"})
    taken = api.post("/me/email", alice.token, json={"new_email": "bob@example.com"})
    assert (free.status_code, taken.status_code) == (202, 202)
    assert free.json() == taken.json()
    assert [m.tag for m in api.mailer.to("bob@example.com")][-1] == "email_in_use"
    assert [m.tag for m in api.mailer.to("carol@example.com")] == ["email_change_code"]


def test_address_changes_are_limited_per_account(api: Api) -> None:
    alice = enrolled(api, "alice@example.com")
    state = cast(FastAPI, api.client.app).state.twostep
    state.limits = RateLimits(api.settings.model_copy(update={"account_rate_per_minute": 3}))
    answers = [
        api.post("/me/email", alice.token, json={"new_email": f"new{n}@example.com"}).status_code
        for n in range(5)
    ]
    assert answers == [202, 202, 202, 429, 429]


def test_variants_of_an_address_share_one_sign_in_budget(api: Api) -> None:
    """Case, spaces and full-width letters do not buy an attacker extra per-account budgets."""
    state = cast(FastAPI, api.client.app).state.twostep
    state.limits = RateLimits(api.settings.model_copy(update={"account_rate_per_minute": 3}))
    variants = ["erin@example.com", "ERIN@example.com", " erin@Example.COM ",
                "erin@ｅｘａｍｐｌｅ.com", "erin@ＥＸＡＭＰＬＥ.ｃｏｍ"]  # fmt: skip
    answers = [
        api.post("/auth/login", json={"email": v, "password": "wrong password"}).status_code
        for v in variants
    ]
    assert answers == [401, 401, 401, 429, 429]
