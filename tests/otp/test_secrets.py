from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from twostep.errors import InvalidParameter, InvalidSecret
from twostep.otp import decode_secret, encode_secret, generate_secret

RFC_KEY = b"12345678901234567890"
RFC_SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"


def b32(nbytes: int) -> str:
    return base64.b32encode(bytes(range(nbytes))).decode().rstrip("=")


@pytest.mark.parametrize(("bits", "length"), [(128, 26), (160, 32), (256, 52), (512, 103)])
def test_generated_secrets_are_unpadded_base32_of_the_asked_size(bits: int, length: int) -> None:
    secret = generate_secret(bits)
    assert len(secret) == length
    assert "=" not in secret
    decoded = decode_secret(secret)
    assert decoded.bits == bits
    assert not decoded.weak


def test_default_is_160_bits_and_fresh_each_time() -> None:
    secrets = {generate_secret() for _ in range(100)}
    assert len(secrets) == 100
    assert all(decode_secret(s).bits == 160 for s in secrets)


@pytest.mark.parametrize("bits", [0, 80, 120, 127, 130, 2048])
def test_generate_refuses_weak_or_odd_sizes(bits: int) -> None:
    with pytest.raises(InvalidParameter):
        generate_secret(bits)


@pytest.mark.parametrize(
    "text",
    [
        RFC_SECRET,
        RFC_SECRET.lower(),
        "gezd gnbv gy3t qojq gezd gnbv gy3t qojq",
        "GEZD-GNBV-GY3T-QOJQ-GEZD-GNBV-GY3T-QOJQ",
    ],
)
def test_decode_tolerates_case_and_grouping(text: str) -> None:
    assert decode_secret(text).key == RFC_KEY


def test_decode_accepts_missing_or_present_padding() -> None:
    padded = base64.b32encode(bytes(range(16))).decode()
    assert padded.endswith("======")
    assert decode_secret(padded).key == bytes(range(16))
    assert decode_secret(padded.rstrip("=")).key == bytes(range(16))


def test_encode_is_the_inverse_of_decode() -> None:
    assert encode_secret(RFC_KEY) == RFC_SECRET
    assert decode_secret(encode_secret(bytes(range(17)))).key == bytes(range(17))


@pytest.mark.parametrize(
    "text",
    [
        "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJ1",  # 1 is not base32
        "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJ0",
        "GEZDGNBVGY3TQOJQ=GEZDGNBVGY3TQOJQ",  # padding in the middle
        "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQA",  # a length no whole byte count has
        "ＧＥＺＤＧＮＢＶＧＹ３ＴＱＯＪＱＧＥＺＤＧＮＢＶＧＹ３ＴＱＯＪＱ",  # fullwidth
        "A" * 2_000,
    ],
)
def test_decode_refuses_what_is_not_base32(text: str) -> None:
    with pytest.raises(InvalidSecret):
        decode_secret(text, allow_weak=True)


@pytest.mark.parametrize("text", ["", "   ", "===="])
def test_decode_refuses_an_empty_secret(text: str) -> None:
    with pytest.raises(InvalidSecret, match="empty"):
        decode_secret(text, allow_weak=True)


@given(st.binary(min_size=10, max_size=128))
def test_decode_reads_any_key_back_from_its_base32(key: bytes) -> None:
    text = base64.b32encode(key).decode()
    for form in (text, text.rstrip("="), text.lower()):
        assert decode_secret(form, allow_weak=True).key == key


def test_decode_refuses_non_strings() -> None:
    with pytest.raises(InvalidSecret):
        decode_secret(RFC_KEY)  # type: ignore[arg-type]


@pytest.mark.parametrize(("nbytes", "weak"), [(16, False), (20, False), (15, True), (10, True)])
def test_allow_weak_imports_down_to_80_bits_flagged_weak(nbytes: int, weak: bool) -> None:
    decoded = decode_secret(b32(nbytes), allow_weak=True)
    assert decoded.key == bytes(range(nbytes))
    assert decoded.weak is weak


@pytest.mark.parametrize("nbytes", [15, 10, 9, 1])
def test_below_128_bits_is_refused_by_default(nbytes: int) -> None:
    with pytest.raises(InvalidSecret, match="at least 128"):
        decode_secret(b32(nbytes))


@pytest.mark.parametrize("nbytes", [9, 5, 1])
def test_below_80_bits_is_refused_even_when_weak_is_allowed(nbytes: int) -> None:
    with pytest.raises(InvalidSecret, match="at least 80"):
        decode_secret(b32(nbytes), allow_weak=True)


def test_the_key_never_appears_in_repr() -> None:
    assert RFC_KEY.decode() not in repr(decode_secret(RFC_SECRET))
