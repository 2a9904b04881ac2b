from __future__ import annotations

import hmac
import re

import pytest

from twostep.security import keyed_hash, keyed_hash_matches, new_token

PEPPER = b"\x01" * 32
OTHER_PEPPER = b"\x02" * 32


def test_keyed_hash_is_deterministic_hex() -> None:
    first = keyed_hash(PEPPER, "ABCD-EFGH-JKLM")
    assert first == keyed_hash(PEPPER, "ABCD-EFGH-JKLM")
    assert re.fullmatch(r"[0-9a-f]{64}", first)


def test_keyed_hash_is_hmac_sha256() -> None:
    # RFC 4231 test case 2 ("Jefe"), with the key padded: HMAC pads short keys with zeros.
    key = b"Jefe" + b"\x00" * 28
    assert (
        keyed_hash(key, "what do ya want for nothing?")
        == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    )


def test_keyed_hash_differs_by_pepper_and_value() -> None:
    assert keyed_hash(PEPPER, "code") != keyed_hash(OTHER_PEPPER, "code")
    assert keyed_hash(PEPPER, "code") != keyed_hash(PEPPER, "Code")


def test_keyed_hash_takes_any_text() -> None:
    assert keyed_hash(PEPPER, "ümlaut") != keyed_hash(PEPPER, "umlaut")
    assert len(keyed_hash(PEPPER, "\ud800")) == 64


def test_keyed_hash_refuses_a_short_pepper() -> None:
    with pytest.raises(ValueError, match="at least 32 bytes"):
        keyed_hash(b"short", "code")


@pytest.mark.parametrize(
    ("value", "expected_of", "matches"),
    [
        ("code", "code", True),
        ("code", "other", False),
        ("code", None, False),
    ],
)
def test_matcher(value: str, expected_of: str | None, matches: bool) -> None:
    expected = keyed_hash(PEPPER, expected_of) if expected_of is not None else "not-a-hash ü"
    assert keyed_hash_matches(PEPPER, value, expected) is matches


def test_matcher_refuses_a_hash_under_another_pepper() -> None:
    assert not keyed_hash_matches(PEPPER, "code", keyed_hash(OTHER_PEPPER, "code"))


def test_new_token_is_url_safe_and_unique() -> None:
    tokens = {new_token() for _ in range(100)}
    assert len(tokens) == 100
    for token in tokens:
        assert re.fullmatch(r"[A-Za-z0-9_-]{43}", token)


def test_new_token_length_follows_nbytes() -> None:
    assert len(new_token(16)) == 22
    assert len(new_token(64)) == 86


def test_new_token_refuses_fewer_than_128_bits() -> None:
    with pytest.raises(ValueError, match="at least 16"):
        new_token(15)


def test_keyed_hash_matches_compares_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """A stored hash is compared with ``hmac.compare_digest``, never with ``==``."""
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    stored = keyed_hash(PEPPER, "ABCD-EFGH")
    assert keyed_hash_matches(PEPPER, "ABCD-EFGH", stored)
    assert not keyed_hash_matches(PEPPER, "ABCD-EFGJ", stored)
    assert len(calls) == 2
