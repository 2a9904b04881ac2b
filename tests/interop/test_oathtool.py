"""twostep against GNU oathtool (OATH Toolkit): same codes, and each accepts the other's."""

from __future__ import annotations

import subprocess

import pytest

from tests.interop.cases import HOTPCase, TOTPCase, hotp_cases, totp_cases
from tests.otp.vectors import RFC6238_SEEDS, RFC6238_TOTP
from tests.support.tools import need_binary
from twostep.otp import Algorithm, encode_secret, hotp

pytestmark = pytest.mark.interop

# oathtool takes keys down to 80 bits, so imported weak secrets are covered too.
KEY_SIZES = (10, 16, 20, 32, 64)
LOOKAHEAD = 2  # -w 2: codes for the step at --now and the two after it


@pytest.fixture(scope="module")
def oathtool() -> str:
    return need_binary("oathtool")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=10, check=False)


def oath_totp(
    tool: str, secret: str, algorithm: Algorithm, digits: int, period: int, at: int
) -> list[str]:
    result = run(
        tool,
        f"--totp={algorithm.upper()}",
        "--base32",
        f"--digits={digits}",
        f"--time-step-size={period}s",
        f"--now=@{at}",
        f"--window={LOOKAHEAD}",
        secret,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


@pytest.mark.parametrize(("at", "step", "algorithm", "expected"), RFC6238_TOTP)
def test_oathtool_agrees_on_the_rfc_vectors(
    oathtool: str, at: int, step: int, algorithm: Algorithm, expected: str
) -> None:
    secret = encode_secret(RFC6238_SEEDS[algorithm])
    assert oath_totp(oathtool, secret, algorithm, 8, 30, at)[0] == expected


@pytest.mark.parametrize("case", totp_cases(6238, key_sizes=KEY_SIZES))
def test_totp_codes_match_oathtool(oathtool: str, case: TOTPCase) -> None:
    theirs = oath_totp(oathtool, case.secret, case.algorithm, case.digits, case.period, case.at)
    assert theirs == [case.code(case.at + k * case.period) for k in range(LOOKAHEAD + 1)]
    assert case.verify(theirs[0]) == case.step
    assert case.verify(theirs[1]) == case.step + 1


@pytest.mark.parametrize("case", totp_cases(4226, key_sizes=KEY_SIZES)[:50])
def test_oathtool_accepts_twostep_codes(oathtool: str, case: TOTPCase) -> None:
    code = case.code(case.at)
    result = run(
        oathtool,
        f"--totp={case.algorithm.upper()}",
        "--base32",
        f"--digits={case.digits}",
        f"--time-step-size={case.period}s",
        f"--now=@{case.at}",
        case.secret,
        code,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "0"  # matched at offset 0 from --now


@pytest.mark.parametrize("case", hotp_cases(4226, key_sizes=KEY_SIZES))
def test_hotp_codes_match_oathtool(oathtool: str, case: HOTPCase) -> None:
    result = run(
        oathtool,
        "--hotp",
        "--base32",
        f"--digits={case.digits}",
        f"--counter={case.counter}",
        f"--window={LOOKAHEAD}",
        case.secret,
    )
    assert result.returncode == 0, result.stderr
    ours = [hotp(case.key, case.counter + k, digits=case.digits) for k in range(LOOKAHEAD + 1)]
    assert result.stdout.split() == ours
