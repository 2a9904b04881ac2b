from __future__ import annotations

import math
import re

import pytest

from twostep.errors import InvalidParameter
from twostep.otp import format_backup_code, generate_backup_codes, normalize_backup_code
from twostep.otp.backup_codes import ALPHABET, LENGTH

FORMAT = re.compile(r"^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$")


def test_alphabet_is_crockford_base32_without_lookalike_letters() -> None:
    assert len(set(ALPHABET)) == 32
    assert not set(ALPHABET) & set("ILOU")


def test_each_code_carries_at_least_50_bits() -> None:
    assert LENGTH * math.log2(len(ALPHABET)) >= 50


def test_codes_are_formatted_in_three_groups_of_four() -> None:
    codes = generate_backup_codes()
    assert len(codes) == 10
    assert all(FORMAT.match(code) for code in codes)


def test_codes_are_distinct_and_fresh() -> None:
    codes = generate_backup_codes(100) + generate_backup_codes(100)
    assert len(set(codes)) == 200


def test_every_symbol_is_used_roughly_evenly() -> None:
    symbols = "".join(normalize_backup_code(c) or "" for c in generate_backup_codes(100))
    counts = {symbol: symbols.count(symbol) for symbol in ALPHABET}
    # 1200 symbols over 32 values: each expected 37.5 times; 5 or fewer is astronomically rare.
    assert min(counts.values()) > 5


@pytest.mark.parametrize("count", [0, -1, 101])
def test_count_is_bounded(count: int) -> None:
    with pytest.raises(InvalidParameter):
        generate_backup_codes(count)


@pytest.mark.parametrize(
    "typed",
    [
        "7KQ4-MX2P-9WDR",
        "7kq4-mx2p-9wdr",
        "7KQ4 MX2P 9WDR",
        "7KQ4MX2P9WDR",
        " 7kq4 - mx2p - 9wdr ",
    ],
)
def test_normalize_ignores_case_and_separators(typed: str) -> None:
    assert normalize_backup_code(typed) == "7KQ4MX2P9WDR"


def test_normalize_folds_lookalikes_as_crockford_does() -> None:
    assert normalize_backup_code("OOII-LL00-11ab") == "0011110011AB"


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "7KQ4-MX2P-9WD",  # too short
        "7KQ4-MX2P-9WDRR",  # too long
        "7KQ4-MX2P-9WDU",  # U is not in the alphabet
        "7KQ4-MX2P-9WD!",
        "７KQ4-MX2P-9WDR",  # fullwidth digit
        "7KQ4-MX2P-9WDß",
        "7" * 10_000,
    ],
)
def test_normalize_returns_none_for_anything_else(typed: str) -> None:
    assert normalize_backup_code(typed) is None


def test_normalize_tolerates_non_strings() -> None:
    assert normalize_backup_code(None) is None  # type: ignore[arg-type]


def test_format_and_normalize_round_trip() -> None:
    for code in generate_backup_codes(20):
        normalized = normalize_backup_code(code)
        assert normalized is not None
        assert format_backup_code(normalized) == code


@pytest.mark.parametrize("text", ["7KQ4-MX2P-9WDR", "7kq4mx2p9wdr", "7KQ4MX2P9WD"])
def test_format_refuses_a_code_that_is_not_normalised(text: str) -> None:
    with pytest.raises(InvalidParameter):
        format_backup_code(text)
