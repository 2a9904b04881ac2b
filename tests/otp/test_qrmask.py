from __future__ import annotations

import random
import string

import pytest
import segno
from hypothesis import given, settings
from hypothesis import strategies as st

from twostep.otp import build_uri, generate_secret
from twostep.otp.qrmask import make_symbol

LEVELS = ("L", "M", "Q", "H")


def assert_same_symbol(data: str, error: str) -> None:
    theirs = segno.make_qr(data, error=error)
    ours = make_symbol(data, error)
    assert (ours.version, ours.error, ours.mask) == (theirs.version, theirs.error, theirs.mask)
    assert ours.matrix == theirs.matrix


@pytest.mark.parametrize("error", LEVELS)
def test_an_enrollment_uri_gives_segnos_symbol(error: str) -> None:
    assert_same_symbol(build_uri("twostep", "alice@example.com", generate_secret()), error)


@pytest.mark.parametrize(
    ("length", "version"),
    [(135, 7), (1841, 32), (2810, 40)],  # version info appears; irregular alignment; largest
)
def test_large_versions_give_segnos_symbol(length: int, version: int) -> None:
    data = "".join(random.Random(length).choices(string.ascii_letters + "&=?%", k=length))
    assert segno.make_qr(data, error="L").version == version
    assert_same_symbol(data, "L")


@settings(max_examples=60, deadline=None)
@given(st.text(min_size=1, max_size=250), st.sampled_from(LEVELS))
def test_any_text_gives_segnos_symbol(data: str, error: str) -> None:
    assert_same_symbol(data, error)
