"""Security keys and passkeys through the JSON API, driven by a software authenticator.

The key (:class:`tests.support.security_key.SoftKey`) builds the authenticator data and the
client data as a browser would; each refusal bends exactly one part of an otherwise valid
answer: the origin, the RP id, the signature, the counter, user verification, the challenge
(replayed), or the owner of the key.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from tests.support.security_key import SoftKey
from tests.web.conftest import PASSWORD, Api
from tests.web.people import Person, context_of, enrolled
from twostep.services.operations import create_user
from twostep.store import audit

RP_ID, ORIGIN = "auth.example.test", "https://auth.example.test"


def claims(token: str) -> dict[str, Any]:
    """The payload of an access token (the signature is the server's business here)."""
    payload = token.split(".")[1]
    parsed: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return parsed


def add_key(api: Api, token: str, key: SoftKey, name: str = "YubiKey") -> dict[str, Any]:
    options = api.post("/2fa/webauthn/register/options", token)
    assert options.status_code == 200, options.text
    made = key.create(options.json()["options"])
    added = api.post(
        "/2fa/webauthn/register/verify", token, json={"credential": made, "name": name}
    )
    assert added.status_code == 201, added.text
    body: dict[str, Any] = added.json()
    return body


def challenge(api: Api, email: str) -> dict[str, Any]:
    reply = api.post("/auth/login", json={"email": email, "password": PASSWORD})
    assert reply.status_code == 200 and reply.json()["requires_2fa"], reply.text
    body: dict[str, Any] = reply.json()
    return body


def error_code(reply: Any) -> str:
    code: str = reply.json()["error"]["code"]
    return code


@pytest.fixture
def alice(api: Api) -> Person:
    return enrolled(api, "alice@example.com")


@pytest.fixture
def key(api: Api, alice: Person) -> SoftKey:
    key = SoftKey(RP_ID, ORIGIN)
    add_key(api, alice.token, key)
    return key


def test_a_key_is_listed_and_answers_the_login_challenge(
    api: Api, alice: Person, key: SoftKey
) -> None:
    listed = api.get("/2fa/devices", alice.token).json()
    assert [(d["name"], d["type"]) for d in listed] == [
        ("Authenticator app", "totp"), ("YubiKey", "webauthn"),
    ]  # fmt: skip
    started = challenge(api, alice.email)
    assert started["methods"] == ["totp", "webauthn", "backup_code"]
    options = started["webauthn_options"]
    assert options["rpId"] == RP_ID
    assert [c["id"] for c in options["allowCredentials"]] == [key.id]
    reply = api.post(
        "/auth/login/verify",
        json={"challenge_id": started["challenge_id"], "webauthn": key.get(options)},
    )
    assert reply.status_code == 200, reply.text
    token = claims(reply.json()["access_token"])
    assert token["amr"] == ["pwd", "hwk"] and token["acr"] == "aal2"
    assert token["second_factor_time"] is not None


def test_a_synced_passkey_says_swk(api: Api, alice: Person) -> None:
    key = SoftKey(RP_ID, ORIGIN, synced=True)
    add_key(api, alice.token, key, "Phone passkey")
    started = challenge(api, alice.email)
    reply = api.post(
        "/auth/login/verify",
        json={
            "challenge_id": started["challenge_id"],
            "webauthn": key.get(started["webauthn_options"]),
        },
    )
    assert claims(reply.json()["access_token"])["amr"] == ["pwd", "swk"]


BENT: dict[str, dict[str, Any]] = {
    "wrong origin": {"origin": "https://auth.example.test.evil.test"},
    "wrong rp id": {"rp_id": "evil.test"},
    "tampered signature": {"tamper": True},
}


@pytest.mark.parametrize("bend", sorted(BENT))
def test_a_bent_answer_is_refused_and_counted(
    api: Api, alice: Person, key: SoftKey, bend: str
) -> None:
    started = challenge(api, alice.email)
    answer = key.get(started["webauthn_options"], **BENT[bend])
    reply = api.post(
        "/auth/login/verify", json={"challenge_id": started["challenge_id"], "webauthn": answer}
    )
    assert reply.status_code == 401 and error_code(reply) == "INVALID_CODE", reply.text
    assert reply.json()["error"]["attempts_left"] == 4
    with context_of(api).db.transaction(readonly=True) as tx:
        (failed,) = audit.query(tx, event="login.factor", outcome="failure")
    assert failed.details is not None and failed.details["reason"] == "not_verified"


def test_a_replayed_answer_is_refused(api: Api, alice: Person, key: SoftKey) -> None:
    started = challenge(api, alice.email)
    body = {
        "challenge_id": started["challenge_id"],
        "webauthn": key.get(started["webauthn_options"]),
    }
    assert api.post("/auth/login/verify", json=body).status_code == 200
    again = api.post("/auth/login/verify", json=body)
    assert again.status_code == 401 and error_code(again) == "CHALLENGE_EXPIRED"
    # Nor does it answer a new challenge: its client data names the old one.
    fresh = challenge(api, alice.email)
    reused = api.post("/auth/login/verify", json={**body, "challenge_id": fresh["challenge_id"]})
    assert reused.status_code == 401 and error_code(reused) == "INVALID_CODE"


def test_another_users_key_is_refused(api: Api, alice: Person, key: SoftKey) -> None:
    bob = enrolled(api, "bob@example.com")
    started = challenge(api, bob.email)
    assert "webauthn" not in started["methods"]
    answer = key.get({"challenge": started["challenge_id"]})
    reply = api.post(
        "/auth/login/verify", json={"challenge_id": started["challenge_id"], "webauthn": answer}
    )
    assert reply.status_code == 401 and error_code(reply) == "INVALID_CODE"
    with context_of(api).db.transaction(readonly=True) as tx:
        (failed,) = audit.query(tx, event="login.factor", outcome="failure")
    assert failed.user_id == bob.id and failed.details is not None
    assert failed.details["reason"] == "unknown_key"


def test_a_counter_going_backwards_is_refused_and_audited(
    api: Api, alice: Person, key: SoftKey
) -> None:
    started = challenge(api, alice.email)
    answer = key.get(started["webauthn_options"], sign_count=10)
    ok = api.post(
        "/auth/login/verify", json={"challenge_id": started["challenge_id"], "webauthn": answer}
    )
    assert ok.status_code == 200, ok.text
    started = challenge(api, alice.email)
    cloned = key.get(started["webauthn_options"], sign_count=7)
    reply = api.post(
        "/auth/login/verify", json={"challenge_id": started["challenge_id"], "webauthn": cloned}
    )
    assert reply.status_code == 401 and error_code(reply) == "INVALID_CODE"
    with context_of(api).db.transaction(readonly=True) as tx:
        (flagged,) = audit.query(tx, event="webauthn.counter")
    assert flagged.outcome == "denied" and flagged.user_id == alice.id


def test_a_key_steps_up_a_session_once(api: Api, alice: Person, key: SoftKey) -> None:
    options = api.post("/auth/elevate/options", alice.token)
    assert options.status_code == 200, options.text
    answer = key.get(options.json()["options"])
    reply = api.post("/auth/elevate", alice.token, json={"webauthn": answer})
    assert reply.status_code == 200, reply.text
    assert "hwk" in claims(reply.json()["access_token"])["amr"]
    again = api.post("/auth/elevate", alice.token, json={"webauthn": answer})
    assert again.status_code == 401 and error_code(again) == "CHALLENGE_EXPIRED"


def test_a_step_up_challenge_is_bound_to_its_session(api: Api, alice: Person, key: SoftKey) -> None:
    options = api.post("/auth/elevate/options", alice.token).json()["options"]
    other = enrolled(api, "carol@example.com")  # another session answering alice's challenge
    reply = api.post("/auth/elevate", other.token, json={"webauthn": key.get(options)})
    assert reply.status_code == 401 and error_code(reply) == "CHALLENGE_EXPIRED"


def test_adding_a_second_factor_needs_a_step_up(api: Api, alice: Person) -> None:
    api.clock.advance(16 * 60)  # the elevation of the sign-in ran out
    renewed = api.post("/auth/refresh", json={"refresh_token": alice.refresh_token}).json()
    reply = api.post("/2fa/webauthn/register/options", renewed["access_token"])
    assert reply.status_code == 403 and error_code(reply) == "ELEVATION_REQUIRED"


def passkey_user(api: Api, email: str = "dora@example.com") -> tuple[SoftKey, dict[str, Any]]:
    """An account whose only factor is a passkey (backup codes came with it)."""
    create_user(context_of(api), email, PASSWORD)
    first = api.post("/auth/login", json={"email": email, "password": PASSWORD}).json()
    key = SoftKey(RP_ID, ORIGIN)
    added = add_key(api, first["access_token"], key, "Laptop")
    assert added["type"] == "webauthn" and len(added["backup_codes"]) == 10
    return key, added


def test_a_passkey_signs_in_alone_as_two_factors(api: Api) -> None:
    key, _ = passkey_user(api)
    started = api.post("/auth/passkey/options").json()
    assert started["options"]["userVerification"] == "required"
    assert started["options"].get("allowCredentials", []) == []
    answer = key.get(started["options"])
    reply = api.post(
        "/auth/passkey/verify", json={"challenge_id": started["challenge_id"], "credential": answer}
    )
    assert reply.status_code == 200, reply.text
    token = claims(reply.json()["access_token"])
    assert token["amr"] == ["hwk", "mfa"] and token["acr"] == "aal2"
    again = api.post(
        "/auth/passkey/verify", json={"challenge_id": started["challenge_id"], "credential": answer}
    )
    assert again.status_code == 401 and error_code(again) == "CHALLENGE_EXPIRED"


def test_a_passkey_without_user_verification_is_refused(api: Api) -> None:
    key, _ = passkey_user(api)
    started = api.post("/auth/passkey/options").json()
    reply = api.post(
        "/auth/passkey/verify",
        json={
            "challenge_id": started["challenge_id"],
            "credential": key.get(started["options"], uv=False),
        },
    )
    assert reply.status_code == 401 and error_code(reply) == "INVALID_CODE"
    assert "verify you" in reply.json()["error"]["message"]


def test_an_unknown_passkey_is_refused(api: Api) -> None:
    passkey_user(api)
    stranger = SoftKey(RP_ID, ORIGIN)
    stranger.user_handle = "AAAA"
    started = api.post("/auth/passkey/options").json()
    reply = api.post(
        "/auth/passkey/verify",
        json={
            "challenge_id": started["challenge_id"],
            "credential": stranger.get(started["options"]),
        },
    )
    assert reply.status_code == 401 and error_code(reply) == "INVALID_CODE"


@pytest.mark.parametrize(
    "credential",
    [
        {"id": "a", "rawId": "b", "type": "public-key", "response": {"clientDataJSON": "e30"}},
        {"id": "a\x00", "rawId": "a", "type": "public-key", "response": {"clientDataJSON": "x"}},
        {"id": "a", "rawId": "a", "type": "password", "response": {"clientDataJSON": "x"}},
        {"id": "a", "rawId": "a", "type": "public-key", "response": {"clientDataJSON": "!!"}},
    ],
)
def test_malformed_answers_are_client_errors(api: Api, credential: dict[str, Any]) -> None:
    started = api.post("/auth/passkey/options").json()
    reply = api.post(
        "/auth/passkey/verify",
        json={"challenge_id": started["challenge_id"], "credential": credential},
    )
    assert 400 <= reply.status_code < 500, reply.text


def test_removing_the_only_key_turns_two_factor_off(api: Api) -> None:
    key, added = passkey_user(api)
    started = api.post("/auth/passkey/options").json()
    tokens = api.post(
        "/auth/passkey/verify",
        json={"challenge_id": started["challenge_id"], "credential": key.get(started["options"])},
    ).json()
    gone = api.client.delete(
        f"/api/v1/2fa/devices/{added['id']}",
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
    )
    assert gone.status_code == 204, gone.text
    me = api.get("/me", tokens["access_token"]).json()
    assert me["two_factor_enabled"] is False


def test_a_remembered_device_skips_the_code_until_forgotten(api: Api, alice: Person) -> None:
    started = challenge(api, alice.email)
    verified = api.post(
        "/auth/login/verify",
        json={"challenge_id": started["challenge_id"], "code": api.code(alice.secret, 1),
              "remember_device": True},
    )  # fmt: skip
    assert verified.status_code == 200, verified.text
    device_token = verified.json()["device_token"]
    login = {"email": alice.email, "password": PASSWORD, "device_token": device_token}
    skipped = api.post("/auth/login", json=login).json()
    assert skipped["requires_2fa"] is False
    token = claims(skipped["access_token"])
    assert token["amr"] == ["pwd", "remembered"] and token["acr"] == "aal1"
    assert token.get("second_factor_time") is None and token.get("elevated_until") is None
    (browser,) = api.get("/2fa/remembered-browsers", alice.token).json()
    gone = api.client.delete(
        f"/api/v1/2fa/remembered-browsers/{browser['id']}",
        headers={"Authorization": f"Bearer {alice.token}"},
    )
    assert gone.status_code == 204
    assert api.post("/auth/login", json=login).json()["requires_2fa"] is True


def test_a_key_completes_a_password_reset(api: Api) -> None:
    key, _ = passkey_user(api)
    api.post("/auth/password/forgot", json={"email": "dora@example.com"})
    token = api.mailed("dora@example.com", r"reset-password\?token=([\w\-]+)")
    check = api.post("/auth/password/reset/check", json={"token": token}).json()
    assert check["requires_code"] and check["methods"] == ["webauthn", "backup_code"]
    new_password = "a brand new passphrase 2026"
    body = {"token": token, "new_password": new_password}
    bent = key.get(check["webauthn_options"], origin="https://evil.test")
    refused = api.post("/auth/password/reset", json={**body, "webauthn": bent})
    assert refused.status_code == 401 and error_code(refused) == "INVALID_CODE"
    # The link is not spent by a refused key, but that challenge is: ask for a new one.
    check = api.post("/auth/password/reset/check", json={"token": token}).json()
    done = api.post(
        "/auth/password/reset", json={**body, "webauthn": key.get(check["webauthn_options"])}
    )
    assert done.status_code == 200, done.text
    assert claims(done.json()["access_token"])["amr"] == ["email", "hwk"]
