"""Signed-in accounts for API tests: a verified user or admin with an active authenticator.

Accounts are made the documented way (:func:`twostep.services.operations.create_user`, as
``twostep users create`` does), then enroll and sign in through the API itself, so the
session proved a second factor; it is then elevated with another code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from fastapi import FastAPI

from tests.web.conftest import PASSWORD, Api
from twostep.otp import parse_uri
from twostep.services.context import Context
from twostep.services.operations import create_user


@dataclass
class Person:
    """An enrolled account and an elevated session of it."""

    id: str
    email: str
    secret: str
    device_id: str
    backup_codes: list[str]
    token: str
    refresh_token: str
    session_id: str


def context_of(api: Api) -> Context:
    ctx: Context = cast(FastAPI, api.client.app).state.twostep.ctx
    return ctx


def enrolled(api: Api, email: str, *, admin: bool = False) -> Person:
    """Create ``email``, enroll an authenticator, then sign in with password and code."""
    user = create_user(context_of(api), email, PASSWORD, admin=admin)
    first = api.post("/auth/login", json={"email": email, "password": PASSWORD}).json()
    setup = api.post("/2fa/setup", first["access_token"], json={}).json()
    secret = parse_uri(setup["otpauth_uri"]).secret
    done = api.post(
        "/2fa/setup/confirm",
        first["access_token"],
        json={"device_id": setup["device_id"], "code": api.code(secret)},
    ).json()
    api.clock.advance(30)
    session = sign_in(api, email, secret)
    return Person(user.id, email, secret, setup["device_id"], done["backup_codes"], **session)


def sign_in(api: Api, email: str, secret: str) -> dict[str, str]:
    """A fresh session (password plus a new code), elevated: its tokens and id."""
    challenge = api.post("/auth/login", json={"email": email, "password": PASSWORD}).json()
    tokens = api.post(
        "/auth/login/verify",
        json={"challenge_id": challenge["challenge_id"], "code": api.code(secret)},
    ).json()
    api.clock.advance(30)
    elevated = api.post("/auth/elevate", tokens["access_token"], json={"code": api.code(secret)})
    assert elevated.status_code == 200, elevated.text
    api.clock.advance(30)
    me = api.get("/me", elevated.json()["access_token"]).json()
    return {
        "token": elevated.json()["access_token"],
        "refresh_token": tokens["refresh_token"],
        "session_id": me["session_id"],
    }
