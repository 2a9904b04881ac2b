"""The attack list, over HTTP: what an attacker tries, and the answer each one gets."""

from __future__ import annotations

import base64
import json
import logging
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from tests.web.conftest import PASSWORD, Api
from twostep import errors
from twostep.clock import ManualClock
from twostep.config import Settings
from twostep.mail import MemoryMailer
from twostep.otp import parse_uri
from twostep.security import Keyring
from twostep.security.tokens import TokenSigner
from twostep.services.context import build_context
from twostep.store.tables import totp_devices
from twostep.web.app import create_app
from twostep.web.errors import GENERIC, error_response
from twostep.web.pages.routing import describe

EMAIL = "erin@example.com"


def _enrolled(api: Api) -> tuple[str, str, list[str]]:
    """Register, enroll and log in; the secret, a full access token and the backup codes."""
    api.post("/auth/register", json={"email": EMAIL, "password": PASSWORD})
    token = api.post("/auth/login", json={"email": EMAIL, "password": PASSWORD}).json()[
        "access_token"
    ]
    api.verify_address(EMAIL, token)
    setup = api.post("/2fa/setup", token, json={}).json()
    secret = parse_uri(setup["otpauth_uri"]).secret
    done = api.post(
        "/2fa/setup/confirm",
        token,
        json={"device_id": setup["device_id"], "code": api.code(secret)},
    ).json()
    api.clock.advance(30)
    return secret, token, done["backup_codes"]


def _challenge(api: Api) -> str:
    answer = api.post("/auth/login", json={"email": EMAIL, "password": PASSWORD}).json()
    assert answer["requires_2fa"] is True
    return str(answer["challenge_id"])


def _verify(api: Api, challenge_id: str, **factor: str) -> int:
    response = api.post("/auth/login/verify", json={"challenge_id": challenge_id, **factor})
    return int(response.status_code)


def test_replay_and_older_steps_are_refused(api: Api) -> None:
    secret, _, _ = _enrolled(api)
    code, previous = api.code(secret), api.code(secret, -1)
    assert _verify(api, _challenge(api), code=code) == 200
    assert _verify(api, _challenge(api), code=code) == 401
    assert _verify(api, _challenge(api), code=previous) == 401


@pytest.mark.parametrize("kind", ["code", "backup_code"])
def test_twenty_parallel_requests_with_one_code_give_one_success(api: Api, kind: str) -> None:
    secret, _, backups = _enrolled(api)
    factor = {"code": api.code(secret)} if kind == "code" else {"backup_code": backups[0]}
    challenges = [_challenge(api) for _ in range(20)]
    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(lambda c: _verify(api, c, **factor), challenges))
    assert statuses.count(200) == 1
    assert set(statuses) - {200} <= {401, 429}  # the losers are refused, some by the lockout


def test_lockout_refuses_the_correct_code_with_retry_after(api: Api) -> None:
    secret, _, _ = _enrolled(api)
    for _ in range(api.settings.lockout_threshold):
        _verify(api, _challenge(api), code="000000")
    response = api.post(
        "/auth/login/verify", json={"challenge_id": _challenge(api), "code": api.code(secret)}
    )
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "TOO_MANY_ATTEMPTS"
    assert 0 < int(response.headers["Retry-After"]) <= 15 * 60


def test_rotating_forwarded_for_does_not_escape_the_account_limit(
    database_url: str, tmp_path: Path
) -> None:
    settings = Settings(
        data_dir=tmp_path, database_url=database_url, account_rate_per_minute=3,
        login_rate_per_minute=1000,
    )  # fmt: skip
    ctx = build_context(settings, clock=ManualClock(), mailer=MemoryMailer(),
                        keyring=Keyring.generate(signing=True))  # fmt: skip
    with TestClient(create_app(settings, context=ctx)) as client:
        statuses = [
            client.post(
                "/api/v1/auth/login",
                json={"email": EMAIL, "password": "guess number one"},
                headers={"X-Forwarded-For": f"198.51.100.{i}"},
            ).status_code
            for i in range(5)
        ]
    assert statuses == [401, 401, 401, 429, 429]


def test_a_password_only_state_cannot_reach_protected_endpoints(api: Api) -> None:
    _enrolled(api)
    challenge_id = _challenge(api)
    for path in ["/me", "/2fa/devices", "/2fa/backup-codes"]:
        assert api.get(path, challenge_id).status_code == 401
        assert api.get(path).status_code == 401


def test_mfa_required_limits_a_new_user_to_enrollment(database_url: str, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, database_url=database_url, mfa="required")
    mailer = MemoryMailer()
    ctx = build_context(settings, clock=ManualClock(), mailer=mailer,
                        keyring=Keyring.generate(signing=True))  # fmt: skip
    with TestClient(create_app(settings, context=ctx)) as client:
        client.post("/api/v1/auth/register", json={"email": EMAIL, "password": PASSWORD})
        token = client.post(
            "/api/v1/auth/login", json={"email": EMAIL, "password": PASSWORD}
        ).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        refused = client.get("/api/v1/2fa/devices", headers=auth)
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "MFA_ENROLLMENT_REQUIRED"
        unverified = client.post("/api/v1/2fa/setup", headers=auth, json={})
        assert unverified.status_code == 403
        assert unverified.json()["error"]["code"] == "EMAIL_VERIFICATION_REQUIRED"
        code = re.search(r"\b(\d{6})\b", mailer.to(EMAIL)[-1].text)
        assert code is not None
        verify = {"email": EMAIL, "code": code.group(1)}
        assert (
            client.post("/api/v1/auth/email/verify", headers=auth, json=verify).status_code == 200
        )
        assert client.post("/api/v1/2fa/setup", headers=auth, json={}).status_code == 201


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_forged_tokens_are_refused(api: Api, web_keyring: Keyring) -> None:
    api.post("/auth/register", json={"email": EMAIL, "password": PASSWORD})
    token = api.post("/auth/login", json={"email": EMAIL, "password": PASSWORD}).json()[
        "access_token"
    ]
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    forged = {
        "tampered": f"{header}.{_b64({**claims, 'sub': 'someone-else'})}.{signature}",
        "none": f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{payload}.",
        "garbage": "not-a-token",
        "wrong-audience": TokenSigner.ed25519(
            web_keyring, issuer=api.settings.token_issuer, audience="another-app"
        ).issue(
            subject=claims["sub"], session_id=claims["sid"], amr=["pwd"],
            auth_time=api.clock.now(), now=api.clock.now(),
        ).token,
    }  # fmt: skip
    for name, bad in forged.items():
        response = api.get("/me", bad)
        assert response.status_code == 401, name
        assert response.json()["error"]["code"] in {"INVALID_TOKEN", "UNAUTHENTICATED"}
    assert api.get("/me", token).status_code == 200
    api.clock.advance(16 * 60)
    assert api.get("/me", token).status_code == 401  # expired


def test_unknown_and_known_addresses_get_the_same_answers(api: Api) -> None:
    api.post("/auth/register", json={"email": EMAIL, "password": PASSWORD})
    for path, body in [
        ("/auth/login", {"password": "not the password"}),
        ("/auth/password/forgot", {}),
        ("/auth/email-code/request", {"purpose": "sign_in"}),
    ]:
        known = api.post(path, json={"email": EMAIL, **body})
        unknown = api.post(path, json={"email": "nobody@example.com", **body})
        assert (known.status_code, known.json()) == (unknown.status_code, unknown.json()), path


@pytest.mark.parametrize(
    ("kwargs", "status"),
    [
        ({"content": b"{not json", "headers": {"content-type": "application/json"}}, 422),
        ({"json": {"email": 5, "password": ["x"]}}, 422),
        ({"json": {"email": "a@b.c", "password": "x", "extra": 1}}, 422),
        ({"content": b"x" * 100_000, "headers": {"content-type": "application/json"}}, 413),
    ],
)
def test_malformed_requests_get_clear_4xx(api: Api, kwargs: dict[str, Any], status: int) -> None:
    response = api.post("/auth/login", **kwargs)
    assert response.status_code == status
    assert set(response.json()["error"]) >= {"code", "message"}


@pytest.mark.parametrize("code", ["１２３４５６", "٠١٢٣٤٥", "1" * 10_000, "12 34-56", "", "abcdef"])
def test_odd_codes_never_cause_a_server_error(api: Api, code: str) -> None:
    _enrolled(api)
    response = api.post("/auth/login/verify", json={"challenge_id": _challenge(api), "code": code})
    assert response.status_code in (401, 422)


def test_every_response_carries_security_headers(api: Api) -> None:
    response = api.client.get("/healthz")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "default-src 'none'" in response.headers["content-security-policy"]
    token = api.post("/auth/register", json={"email": EMAIL, "password": PASSWORD})
    assert token.headers["cache-control"] == "no-store"


JSON = {"content-type": "application/json"}
NOT_UTF8 = b'{"email": "erin@example.com", "password": "caf\xe9 au lait"}'
BRACKETS = b"[" * 1024 + b"]" * 1024


@pytest.mark.parametrize(
    "path", ["/auth/login", "/auth/register", "/auth/password/forgot", "/auth/refresh"]
)
@pytest.mark.parametrize(
    "body",
    [
        pytest.param(NOT_UTF8, id="not-utf8"),
        pytest.param(BRACKETS, id="brackets"),
        pytest.param(b'{"email": ' * 40 + b"1" + b"}" * 40, id="nested-objects"),
    ],
)
def test_undecodable_or_deeply_nested_bodies_are_validation_errors(
    api: Api, path: str, body: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    response = api.post(path, content=body, headers=JSON)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"


def test_the_password_advice_endpoint_refuses_deep_nesting(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    for body in (BRACKETS, b'{"password": ' * 2000, NOT_UTF8):
        response = api.client.post("/password-advice", content=body, headers=JSON)
        assert response.status_code == 400, response.text
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"
    fine = api.client.post("/password-advice", json={"password": "x" * 20, "email": EMAIL})
    assert fine.status_code == 200 and "acceptable" in fine.json()


@pytest.mark.parametrize("bad", ["\x00", "ab\x00cd", "line\nbreak", "\x1b[31m", "del\x7f"])
def test_control_characters_in_ids_and_tokens_are_validation_errors(api: Api, bad: str) -> None:
    _, token, _ = _enrolled(api)
    api.clock.advance(30)
    challenge = _challenge(api)
    bodies = {
        "/auth/login/verify": {"challenge_id": challenge[:8] + bad, "code": "123456"},
        "/auth/refresh": {"refresh_token": bad},
        "/auth/email/verify": {"token": bad},
        "/auth/password/reset/check": {"token": bad},
        "/auth/password/reset": {"token": bad, "new_password": PASSWORD, "code": "123456"},
        "/2fa/setup/confirm": {"device_id": bad, "code": "123456"},
        "/auth/login": {"email": f"{EMAIL}{bad}", "password": PASSWORD},
    }
    for path, body in bodies.items():
        response = api.post(path, token, json=body)
        assert response.status_code == 422, (path, response.text)
        assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    quoted = bad.encode().hex("%", 1)
    for method, path in [
        ("PATCH", "/2fa/devices/%{}"),
        ("DELETE", "/2fa/devices/%{}"),
        ("DELETE", "/me/sessions/%{}"),
    ]:
        url = "/api/v1" + path.format(quoted)
        response = api.client.request(
            method, url, headers={"Authorization": f"Bearer {token}"}, json={"name": "x"}
        )
        assert response.status_code == 422, (method, url, response.text)


@pytest.mark.parametrize("bad", ["\x00", "x\x00y", "\x1b"])
def test_control_characters_in_page_fields_are_the_pages_error(api: Api, bad: str) -> None:
    html = {"accept": "text/html"}
    for url, form in [
        ("/login", {"email": f"{EMAIL}{bad}", "password": PASSWORD}),
        ("/reset-password", {"token": bad, "password": PASSWORD, "code": "123456"}),
        ("/verify-email", {"email": EMAIL, "code": bad}),
    ]:
        response = api.client.post(url, data=form, headers=html, follow_redirects=False)
        assert response.status_code == 400, (url, response.text)
        assert "text/html" in response.headers["content-type"]
    for url in ["/reset-password?token=%00", "/verify-email?token=a%00b", "/login?next=%1b"]:
        response = api.client.get(url, headers=html, follow_redirects=False)
        assert response.status_code == 400, (url, response.text)


def test_a_tampered_secret_is_a_logged_500_not_a_client_error(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    secret, _, _ = _enrolled(api)
    ctx = api.client.app.state.twostep.ctx  # type: ignore[attr-defined]
    with ctx.db.transaction() as tx:
        tx.execute(update(totp_devices).values(secret_ciphertext=b"\x01" * 48))
    code = api.code(secret)
    with caplog.at_level(logging.INFO):
        response = api.post(
            "/auth/login/verify", json={"challenge_id": _challenge(api), "code": code}
        )
    assert response.status_code == 500
    assert response.json() == {"error": {"code": "INTERNAL_ERROR", "message": GENERIC}}
    faults = [r for r in caplog.records if "DecryptionError" in r.getMessage()]
    assert len(faults) == 1 and faults[0].levelno == logging.ERROR
    assert not any(code in r.getMessage() or secret in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    ("exc", "status", "code"),
    [
        (errors.DecryptionError(), 500, "INTERNAL_ERROR"),
        (errors.KeyringError("keyring: key 'k1' is unknown"), 500, "INTERNAL_ERROR"),
        (errors.MailError("SMTP server mail.test answered 451"), 503, "SERVICE_UNAVAILABLE"),
        (errors.ProviderError("cannot import 'x' for OTP provider"), 503, "SERVICE_UNAVAILABLE"),
    ],
)
def test_server_faults_answer_5xx_with_a_generic_message(
    exc: errors.TwostepError, status: int, code: str, caplog: pytest.LogCaptureFixture
) -> None:
    response = error_response(exc, where="POST /api/v1/test")
    assert response.status_code == status
    body = json.loads(bytes(response.body))
    assert body["error"]["code"] == code and exc.message not in body["error"]["message"]
    [record] = caplog.records
    assert exc.message in record.getMessage() and "POST /api/v1/test" in record.getMessage()


def test_pages_describe_server_faults_generically(caplog: pytest.LogCaptureFixture) -> None:
    problem = describe(errors.DecryptionError("key 'k1' cannot open device d1"))
    assert (problem.status, problem.message) == (500, GENERIC)
    assert describe(errors.MailError("smtp down")).status == 503
    assert len(caplog.records) == 2
