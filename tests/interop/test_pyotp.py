"""twostep against pyotp, the most used Python OTP library: same codes, same URIs."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import pyotp
import pytest

from tests.interop.cases import HOTPCase, TOTPCase, hotp_cases, totp_cases
from twostep.otp import Algorithm, build_uri, hotp, parse_uri

pytestmark = pytest.mark.interop

# pyotp refuses secrets under 112 bits and periods over 120 s; the oathtool suite covers those.
KEY_SIZES = (16, 20, 32, 64)
PERIODS = (30, 30, 30, 60, 15, 1, 120)
DIGESTS: dict[Algorithm, Callable[..., object]] = {
    "sha1": hashlib.sha1,
    "sha256": hashlib.sha256,
    "sha512": hashlib.sha512,
}


def their_totp(case: TOTPCase) -> pyotp.TOTP:
    return pyotp.TOTP(
        case.secret, digits=case.digits, digest=DIGESTS[case.algorithm], interval=case.period
    )


@pytest.mark.parametrize("case", totp_cases(2024, key_sizes=KEY_SIZES, periods=PERIODS))
def test_totp_codes_match_pyotp(case: TOTPCase) -> None:
    theirs = their_totp(case)
    ours = case.code(case.at)
    assert ours == theirs.at(case.at)
    assert theirs.verify(ours, for_time=case.at)
    assert case.verify(str(theirs.at(case.at, counter_offset=-1))) == case.step - 1
    assert case.verify(str(theirs.at(case.at, counter_offset=1))) == case.step + 1


@pytest.mark.parametrize("case", hotp_cases(2024, key_sizes=KEY_SIZES))
def test_hotp_codes_match_pyotp(case: HOTPCase) -> None:
    theirs = pyotp.HOTP(case.secret, digits=case.digits)
    assert hotp(case.key, case.counter, digits=case.digits) == theirs.at(case.counter)


@pytest.mark.parametrize("case", totp_cases(1111, key_sizes=KEY_SIZES, periods=PERIODS)[:50])
def test_pyotp_reads_twostep_uris_and_back(case: TOTPCase) -> None:
    uri = build_uri(
        "ACME Co & Sons",
        "alice+2fa@example.com",
        case.secret,
        algorithm=case.algorithm,
        digits=case.digits,
        period=case.period,
    )
    theirs = pyotp.parse_uri(uri)
    assert isinstance(theirs, pyotp.TOTP)
    assert (theirs.issuer, theirs.name) == ("ACME Co & Sons", "alice+2fa@example.com")
    assert (theirs.digits, theirs.interval) == (case.digits, case.period)
    assert theirs.at(case.at) == case.code(case.at)
    assert parse_uri(str(theirs.provisioning_uri())) == parse_uri(uri)


def test_twostep_reads_pyotp_hotp_uris() -> None:
    secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    uri = pyotp.HOTP(secret, issuer="Acme", name="bob", initial_count=7).provisioning_uri()
    parsed = parse_uri(str(uri))
    assert (parsed.type, parsed.issuer, parsed.account, parsed.counter) == (
        "hotp",
        "Acme",
        "bob",
        7,
    )
