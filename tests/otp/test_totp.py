from __future__ import annotations

import pytest

from tests.otp.vectors import RFC6238_SEEDS, RFC6238_TOTP
from twostep.errors import InvalidParameter
from twostep.otp import Algorithm, TOTPParams, normalize_code, time_step, totp, verify_totp

KEY = b"12345678901234567890"
NOW = 1_700_000_000.0
STEP = 56_666_666  # NOW // 30


def code_at_step(step: int, key: bytes = KEY) -> str:
    return totp(key, step * 30)


@pytest.mark.parametrize(("at", "step", "algorithm", "expected"), RFC6238_TOTP)
def test_rfc6238_appendix_b(at: int, step: int, algorithm: Algorithm, expected: str) -> None:
    key = RFC6238_SEEDS[algorithm]
    assert time_step(at) == step
    assert totp(key, at, digits=8, algorithm=algorithm) == expected
    found = verify_totp(key, expected, at=at, window=0, digits=8, algorithm=algorithm)
    assert found == step


@pytest.mark.parametrize(
    ("at", "period", "step"),
    [(0, 30, 0), (29.999, 30, 0), (30, 30, 1), (59, 30, 1), (NOW, 30, STEP), (NOW, 60, 28_333_333)],
)
def test_time_step_floors(at: float, period: int, step: int) -> None:
    assert time_step(at, period) == step


@pytest.mark.parametrize("at", [-1.0, float("nan"), float("inf"), 2.0**63])
def test_time_outside_the_epoch_range_is_refused(at: float) -> None:
    with pytest.raises(InvalidParameter, match="time"):
        time_step(at)


@pytest.mark.parametrize("offset", [-1, 0, 1])
def test_window_one_accepts_neighbouring_steps_and_returns_the_match(offset: int) -> None:
    assert verify_totp(KEY, code_at_step(STEP + offset), at=NOW) == STEP + offset


@pytest.mark.parametrize("offset", [-2, 2, -3, 3])
def test_window_one_refuses_steps_further_away(offset: int) -> None:
    assert verify_totp(KEY, code_at_step(STEP + offset), at=NOW) is None


def test_wider_window_reaches_further() -> None:
    assert verify_totp(KEY, code_at_step(STEP - 2), at=NOW, window=2) == STEP - 2
    assert verify_totp(KEY, code_at_step(STEP + 1), at=NOW, window=0) is None


def test_replay_of_an_accepted_step_is_refused() -> None:
    code = code_at_step(STEP)
    assert verify_totp(KEY, code, at=NOW, after_step=STEP - 1) == STEP
    assert verify_totp(KEY, code, at=NOW, after_step=STEP) is None
    assert verify_totp(KEY, code_at_step(STEP - 1), at=NOW, after_step=STEP) is None


def test_a_later_step_in_the_window_is_still_accepted_after_a_replay_floor() -> None:
    assert verify_totp(KEY, code_at_step(STEP + 1), at=NOW, after_step=STEP) == STEP + 1


def test_a_code_matching_two_steps_returns_the_later_one() -> None:
    # This key gives "092177" at steps 1000 and 1002: returning 1000 would let the same string
    # be accepted a second time as step 1002.
    key, at = b"collision-885171", 1001 * 30
    assert verify_totp(key, "092177", at=at) == 1002
    assert verify_totp(key, "092177", at=at, after_step=1002) is None


def test_the_window_is_clipped_at_the_epoch() -> None:
    assert verify_totp(KEY, code_at_step(0), at=10) == 0
    assert verify_totp(KEY, code_at_step(1), at=10) == 1


@pytest.mark.parametrize("text", ["123 456", "123-456", " 123456 ", "12 34 56", "\t123456"])
def test_normalize_strips_spaces_and_dashes(text: str) -> None:
    assert normalize_code(text, 6) == "123456"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "12345",
        "1234567",
        "12345a",
        "abcdef",
        "１２３４５６",  # fullwidth digits
        "٠١٢٣٤٥",  # Arabic-Indic digits
        "۱۲۳۴۵۶",  # extended Arabic-Indic digits
        "12345\u00b2",  # superscript two: str.isdigit() says yes
        "1" * 10_000,
        "1 " * 5_000,
        "+12345",
        "12345\n",
    ],
)
def test_normalize_returns_none_for_anything_else(text: str) -> None:
    assert normalize_code(text, 6) is None


def test_normalize_tolerates_non_strings() -> None:
    assert normalize_code(123456, 6) is None  # type: ignore[arg-type]
    assert normalize_code(None, 6) is None  # type: ignore[arg-type]


def test_verify_returns_none_for_malformed_codes() -> None:
    for text in ["", "１２３４５６", "x" * 10_000, "12345678"]:
        assert verify_totp(KEY, text, at=NOW) is None


def test_verify_accepts_a_formatted_code() -> None:
    code = code_at_step(STEP)
    assert verify_totp(KEY, f"{code[:3]} {code[3:]}", at=NOW) == STEP


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"digits": 9}, "digits"),
        ({"algorithm": "sha384"}, "algorithm"),
        ({"period": 0}, "period"),
        ({"period": 301}, "period"),
        ({"window": -1}, "window"),
        ({"window": 11}, "window"),
    ],
)
def test_verify_refuses_bad_parameters(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(InvalidParameter, match=match):
        verify_totp(KEY, "123456", at=NOW, **kwargs)  # type: ignore[arg-type]


def test_params_validate_on_creation() -> None:
    assert TOTPParams() == TOTPParams("sha1", 6, 30)
    for bad in [{"digits": 5}, {"period": 0}, {"period": 301}, {"algorithm": "md5"}]:
        with pytest.raises(InvalidParameter):
            TOTPParams(**bad)  # type: ignore[arg-type]
