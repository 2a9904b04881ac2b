from __future__ import annotations

import pytest

from twostep.security import SecretBytes

VALUE = bytes(range(32))


def test_repr_and_str_hide_the_value() -> None:
    secret = SecretBytes(VALUE)
    for text in (repr(secret), str(secret), f"{secret}", repr([secret])):
        assert VALUE.hex() not in text
        assert repr(VALUE) not in text
        assert "**********" in text


def test_reveal_returns_the_value() -> None:
    assert SecretBytes(VALUE).reveal() == VALUE
    assert len(SecretBytes(VALUE)) == 32


def test_equality_compares_values() -> None:
    assert SecretBytes(VALUE) == SecretBytes(VALUE)
    assert SecretBytes(VALUE) != SecretBytes(b"other")
    assert SecretBytes(VALUE) != VALUE


def test_only_bytes_are_wrapped() -> None:
    with pytest.raises(TypeError):
        SecretBytes("text")  # type: ignore[arg-type]
