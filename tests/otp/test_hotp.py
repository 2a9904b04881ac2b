from __future__ import annotations

import pytest

from tests.otp.vectors import RFC4226_HOTP, RFC4226_KEY
from twostep.errors import InvalidParameter
from twostep.otp.hotp import hotp


@pytest.mark.parametrize(("counter", "expected"), RFC4226_HOTP)
def test_rfc4226_appendix_d(counter: int, expected: str) -> None:
    assert hotp(RFC4226_KEY, counter) == expected


@pytest.mark.parametrize(("digits", "expected"), [(6, "755224"), (7, "4755224"), (8, "84755224")])
def test_digits_take_the_low_decimal_digits(digits: int, expected: str) -> None:
    # RFC 4226 Appendix D lists the truncated value 1284755224 for counter 0.
    assert hotp(RFC4226_KEY, 0, digits=digits) == expected


def test_leading_zeros_are_kept() -> None:
    # Counter 1002 of this key truncates to 92177, a five-digit number.
    assert hotp(b"collision-885171", 1002) == "092177"


def test_largest_counter_is_accepted() -> None:
    assert len(hotp(RFC4226_KEY, 2**64 - 1)) == 6


@pytest.mark.parametrize("digits", [0, 5, 9, 10, -6])
def test_digits_outside_6_to_8_are_refused(digits: int) -> None:
    with pytest.raises(InvalidParameter, match="digits"):
        hotp(RFC4226_KEY, 0, digits=digits)


@pytest.mark.parametrize("counter", [-1, 2**64])
def test_counter_outside_64_bits_is_refused(counter: int) -> None:
    with pytest.raises(InvalidParameter, match="counter"):
        hotp(RFC4226_KEY, counter)


def test_unknown_algorithm_is_refused() -> None:
    with pytest.raises(InvalidParameter, match="algorithm"):
        hotp(RFC4226_KEY, 0, algorithm="md5")  # type: ignore[arg-type]
