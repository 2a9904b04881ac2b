from __future__ import annotations

import pytest

from twostep.errors import WeakPassword
from twostep.services import password_policy


@pytest.mark.parametrize(
    ("password", "fragment"),
    [
        ("short", "at least 8"),
        ("x" * 257, "at most 256"),
        ("Password123", "too common"),
        ("QWERTYUIOP", "too common"),
        ("aaaaaaaaaaaa", "repeat"),
        ("alice.smith@example.com", "email"),
        ("alice.smith", "email"),
        ("Alice.Smith@Example.com", "email"),
    ],
)
def test_refuses_with_a_reason(password: str, fragment: str) -> None:
    advice = password_policy.assess(password, email="alice.smith@example.com")
    assert not advice.acceptable
    assert advice.problem is not None and fragment in advice.problem
    with pytest.raises(WeakPassword) as caught:
        password_policy.check(password, email="alice.smith@example.com")
    assert caught.value.field == "password"


@pytest.mark.parametrize(
    "password",
    [
        "correct horse battery staple",
        "8chars!!",
        "ünïcödé-pässwörd",
        "xy" * 128,
        "密码很长很难猜的句子",
    ],
)
def test_accepts_without_composition_rules(password: str) -> None:
    assert password_policy.assess(password).acceptable
    password_policy.check(password)


@pytest.mark.parametrize(
    "password",
    ["alice.smith2024", "alice.smith went walking", "my alice.smith@example.com!", "smith.alice"],
)
def test_the_address_check_fires_only_for_the_address_or_its_local_part(password: str) -> None:
    """Containing the name is not using the address as the password."""
    advice = password_policy.assess(password, email="alice.smith@example.com")
    assert advice.acceptable, advice.problem


def test_recommended_length_is_reported() -> None:
    assert not password_policy.assess("tolerable-pw").recommended_length_met
    assert password_policy.assess("a much longer passphrase").recommended_length_met


def test_common_list_is_shipped_and_large() -> None:
    assert len(password_policy.common_passwords()) > 300
    assert "letmein" in password_policy.common_passwords()
