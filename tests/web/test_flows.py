"""Every user flow end to end over HTTP, as a client would drive it."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import jwt
import zxingcpp
from fastapi.testclient import TestClient
from PIL import Image
from pydantic import SecretStr

from tests.web.conftest import PASSWORD, Api
from twostep.clock import ManualClock
from twostep.config import Settings
from twostep.mail import MemoryMailer
from twostep.otp import parse_uri
from twostep.security import Keyring
from twostep.services.context import build_context
from twostep.web.app import create_app

EMAIL = "dana@example.com"
CODE = r"\b(\d{6})\b"


def _decode_qr(data_uri: str) -> str:
    assert data_uri.startswith("data:image/png;base64,")
    image = Image.open(io.BytesIO(base64.b64decode(data_uri.split(",", 1)[1])))
    results = zxingcpp.read_barcodes(image)
    assert len(results) == 1
    return str(results[0].text)


def _login_with_code(api: Api, secret: str, password: str = PASSWORD) -> dict[str, str]:
    challenge = api.post("/auth/login", json={"email": EMAIL, "password": password}).json()
    assert challenge["requires_2fa"] is True
    verified = api.post(
        "/auth/login/verify",
        json={"challenge_id": challenge["challenge_id"], "code": api.code(secret)},
    )
    assert verified.status_code == 200, verified.text
    tokens: dict[str, str] = verified.json()
    api.clock.advance(30)  # the next code must come from a fresh step
    return tokens


def test_the_whole_journey(api: Api) -> None:
    # register and verify the address with the emailed code
    registered = api.post("/auth/register", json={"email": EMAIL, "password": PASSWORD})
    assert registered.status_code == 201, registered.text
    code = api.mailed(EMAIL, CODE)
    verified = api.post(
        "/auth/email/verify", json={"email": EMAIL, "code": code, "password": PASSWORD}
    )
    assert verified.status_code == 200, verified.text

    # password-only login, then enrollment from the QR code the API returned
    first = api.post("/auth/login", json={"email": EMAIL, "password": PASSWORD}).json()
    assert first["requires_2fa"] is False and first["refresh_token"]
    token = first["access_token"]
    setup = api.post("/2fa/setup", token, json={"device_name": "Pixel"})
    assert setup.status_code == 201, setup.text
    uri = _decode_qr(setup.json()["qr_png"])
    assert uri == setup.json()["otpauth_uri"]
    secret = parse_uri(uri).secret
    confirmed = api.post(
        "/2fa/setup/confirm", token, json={"device_id": setup.json()["device_id"],
                                           "code": api.code(secret)}
    )  # fmt: skip
    assert confirmed.status_code == 200, confirmed.text
    backup_codes = confirmed.json()["backup_codes"]
    assert len(backup_codes) == 10
    api.clock.advance(30)
    assert api.post("/auth/logout", token).status_code == 204
    assert api.get("/me", token).status_code == 401

    # login with the challenge, step up, regenerate backup codes
    tokens = _login_with_code(api, secret)
    token = tokens["access_token"]
    assert api.get("/me", token).json()["two_factor_enabled"] is True
    api.clock.advance(15 * 60)  # past the elevation the sign-in itself granted (§4.7)
    refreshed = api.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    token = refreshed.json()["access_token"]
    refused = api.post("/2fa/backup-codes/regenerate", token)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "ELEVATION_REQUIRED"
    elevated = api.post("/auth/elevate", token, json={"code": api.code(secret)})
    assert elevated.status_code == 200, elevated.text
    assert elevated.json()["expires_in"] == 15 * 60
    regenerated = api.post("/2fa/backup-codes/regenerate", elevated.json()["access_token"])
    assert regenerated.status_code == 200, regenerated.text
    new_codes = regenerated.json()["backup_codes"]
    assert set(new_codes).isdisjoint(backup_codes)

    # login with a backup code; using it again is refused
    for attempt, expected in [(1, 200), (2, 401)]:
        challenge = api.post("/auth/login", json={"email": EMAIL, "password": PASSWORD}).json()
        answer = api.post(
            "/auth/login/verify",
            json={"challenge_id": challenge["challenge_id"], "backup_code": new_codes[0]},
        )
        assert answer.status_code == expected, (attempt, answer.text)
    assert answer.json()["error"]["code"] == "INVALID_CODE"
    old = api.post("/auth/login", json={"email": EMAIL, "password": PASSWORD}).json()
    stale = api.post(
        "/auth/login/verify",
        json={"challenge_id": old["challenge_id"], "backup_code": backup_codes[1]},
    )
    assert stale.status_code == 401

    # forgot password: the emailed link plus an authenticator code
    assert api.post("/auth/password/forgot", json={"email": EMAIL}).status_code == 202
    reset_token = api.mailed(EMAIL, r"reset-password\?token=([\w\-]+)")
    info = api.post("/auth/password/reset/check", json={"token": reset_token}).json()
    assert info["requires_code"] is True
    new_password = "a brand new passphrase"
    without = api.post(
        "/auth/password/reset", json={"token": reset_token, "new_password": new_password}
    )
    assert without.status_code == 422 and without.json()["error"]["field"] == "code"
    api.clock.advance(30)  # the step-up above used this step's code
    done = api.post(
        "/auth/password/reset",
        json={"token": reset_token, "new_password": new_password, "code": api.code(secret)},
    )
    assert done.status_code == 200, done.text  # link + code: signed in, elevated
    assert api.get("/me", done.json()["access_token"]).status_code == 200
    api.clock.advance(30)
    assert api.get("/me", token).status_code == 401  # every earlier session ended
    old_password = api.post("/auth/login", json={"email": EMAIL, "password": PASSWORD})
    assert old_password.status_code == 401
    assert _login_with_code(api, secret, new_password)["access_token"]


def test_refresh_rotates_and_reuse_ends_the_session(api: Api) -> None:
    api.post("/auth/register", json={"email": EMAIL, "password": PASSWORD})
    tokens = api.post("/auth/login", json={"email": EMAIL, "password": PASSWORD}).json()
    rotated = api.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()
    assert new["refresh_token"] != tokens["refresh_token"]
    assert api.get("/me", new["access_token"]).status_code == 200
    reuse = api.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert reuse.status_code == 401
    assert api.get("/me", new["access_token"]).status_code == 401
    again = api.post("/auth/refresh", json={"refresh_token": new["refresh_token"]})
    assert again.status_code == 401


def test_introspection_reports_logout_at_once(api: Api) -> None:
    from tests.web.conftest import INTROSPECTION

    api.post("/auth/register", json={"email": EMAIL, "password": PASSWORD})
    token = api.post("/auth/login", json={"email": EMAIL, "password": PASSWORD}).json()[
        "access_token"
    ]

    def introspect(auth: tuple[str, str] = INTROSPECTION) -> dict[str, object]:
        response = api.client.post("/api/v1/introspect", data={"token": token}, auth=auth)
        assert response.status_code in (200, 401)
        return dict(response.json())

    assert introspect(("twostep-introspect", "wrong"))["error"]
    active = introspect()
    assert active["active"] is True and active["amr"] == ["pwd"]
    assert active["acr"] == "aal1" and active["purpose"] == "full"
    assert "second_factor_time" not in active
    api.post("/auth/logout", token)
    assert introspect() == {"active": False}


def test_an_account_without_2fa_changes_its_password_after_a_password_step_up(api: Api) -> None:
    api.post("/auth/register", json={"email": EMAIL, "password": PASSWORD})
    token = api.post("/auth/login", json={"email": EMAIL, "password": PASSWORD}).json()[
        "access_token"
    ]
    change = {"current_password": PASSWORD, "new_password": "another fine passphrase"}
    refused = api.post("/me/password", token, json=change)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "ELEVATION_REQUIRED"
    assert api.post("/auth/elevate", token, json={"password": PASSWORD}).status_code == 200
    assert api.post("/me/password", token, json=change).status_code == 204
    again = api.post("/auth/login", json={"email": EMAIL, "password": "another fine passphrase"})
    assert again.status_code == 200


def test_enrolment_only_sessions_are_marked_in_the_token_and_introspection(
    database_url: str, tmp_path: Path, web_keyring: Keyring
) -> None:
    """``MFA=required``, no device yet: other apps must be able to tell (DESIGN §4.12)."""
    from tests.web.conftest import INTROSPECTION

    settings = Settings(
        data_dir=tmp_path, database_url=database_url, mfa="required",
        introspection_client_id=INTROSPECTION[0],
        introspection_client_secret=SecretStr(INTROSPECTION[1]),
    )  # fmt: skip
    ctx = build_context(settings, clock=ManualClock(), mailer=MemoryMailer(), keyring=web_keyring)
    with TestClient(create_app(settings, context=ctx)) as client:
        client.post("/api/v1/auth/register", json={"email": EMAIL, "password": PASSWORD})
        login = client.post("/api/v1/auth/login", json={"email": EMAIL, "password": PASSWORD})
        token = login.json()["access_token"]
        claims = jwt.decode(token, options={"verify_signature": False})
        assert claims["purpose"] == "enroll" and claims["acr"] == "aal1"
        seen = client.post("/api/v1/introspect", data={"token": token}, auth=INTROSPECTION)
        assert seen.json()["active"] is True and seen.json()["purpose"] == "enroll"
