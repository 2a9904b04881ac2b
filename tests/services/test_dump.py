"""DESIGN §4.4: a dump of every table holds no plaintext secret, code, token or password."""

from __future__ import annotations

import re

from tests.services.conftest import ORIGIN, PASSWORD, Enrolled
from tests.services.support import dump_tables
from twostep.mail import MemoryMailer
from twostep.otp.backup_codes import normalize_backup_code
from twostep.services import accounts, email_codes, login, reset
from twostep.services.context import Context


def _mailed(mailer: MemoryMailer, address: str, pattern: str) -> str:
    found = re.search(pattern, mailer.to(address)[-1].text)
    assert found is not None
    return found.group(1)


def test_no_plaintext_secret_in_a_database_dump(
    ctx: Context, enrolled: Enrolled, mailer: MemoryMailer
) -> None:
    # a fresh registration with its verification code and link
    accounts.register(ctx, "newcomer@example.com", "a quiet harbour at dawn", ORIGIN)
    verify_code = _mailed(mailer, "newcomer@example.com", r"\b(\d{6})\b")
    verify_link = _mailed(mailer, "newcomer@example.com", r"verify-email\?token=([\w.\-]+)")
    # an emailed sign-in code, a reset link, a login
    email_codes.request_code(ctx, "alice@example.com", "sign_in", ORIGIN)
    sign_in_code = _mailed(mailer, "alice@example.com", r"\b(\d{6})\b")
    reset.request_reset(ctx, "alice@example.com", ORIGIN)
    reset_token = _mailed(mailer, "alice@example.com", r"reset-password\?token=([\w\-]+)")
    login.login(ctx, "alice@example.com", PASSWORD, ORIGIN)

    dump = dump_tables(ctx)
    assert "totp_devices" in dump and "backup_codes" in dump and "reset_tokens" in dump
    forbidden = {
        "TOTP secret": enrolled.secret,
        "password": PASSWORD,
        "new password": "a quiet harbour at dawn",
        "verification code": verify_code,
        "verification link": verify_link.split(".")[-1],
        "sign-in code": sign_in_code,
        "reset token": reset_token,
    }
    for code in enrolled.backup_codes:
        forbidden[f"backup code {code}"] = code
        forbidden[f"normalised backup code {code}"] = normalize_backup_code(code) or code
    for what, value in forbidden.items():
        assert value not in dump, what
        assert value.lower() not in dump.lower(), what
