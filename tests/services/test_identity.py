"""Addresses as account identifiers: one normalised form for accounts and for rate limits."""

from __future__ import annotations

import pytest

from twostep.services.identity import account_key, normalize_email

SAME_ACCOUNT = [
    "alice@example.com",
    "Alice@EXAMPLE.com",
    "  alice@example.com ",
    "alice@ｅｘａｍｐｌｅ.ｃｏｍ",  # full-width domain: the same mailbox after IDNA mapping
    "ALICE@Ｅｘａｍｐｌｅ.com",
]


@pytest.mark.parametrize("typed", SAME_ACCOUNT)
def test_variants_of_one_address_share_one_rate_limit_key(typed: str) -> None:
    assert account_key(typed) == normalize_email(typed) == "alice@example.com"


@pytest.mark.parametrize(
    ("typed", "key"),
    [("ＮＯＴ  an\taddress", "not an address"), ("x" * 5000, "x" * 254), ("", "")],
)
def test_text_that_is_no_address_is_folded_the_same_way(typed: str, key: str) -> None:
    assert account_key(typed) == key
