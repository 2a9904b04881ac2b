from __future__ import annotations

import re
import threading
import unicodedata

import argon2
import pytest

from twostep.errors import ConfigurationError
from twostep.security import PasswordHasher

ENCODED = re.compile(
    r"\$argon2id\$v=19\$m=(?P<m>\d+),t=(?P<t>\d+),p=(?P<p>\d+)\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+"
)


@pytest.fixture(scope="module")
def hasher() -> PasswordHasher:
    return PasswordHasher()


def test_default_hash_is_argon2id_at_owasp_minimum_or_above(hasher: PasswordHasher) -> None:
    match = ENCODED.fullmatch(hasher.hash("correct horse"))
    assert match is not None
    assert int(match["m"]) >= 19456
    assert int(match["t"]) >= 2
    assert int(match["p"]) >= 1


def test_stronger_parameters_are_used() -> None:
    match = ENCODED.fullmatch(PasswordHasher(memory_cost=32768, time_cost=3).hash("pw"))
    assert match is not None
    assert (match["m"], match["t"], match["p"]) == ("32768", "3", "1")


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"memory_cost": 19455}, "memory_cost"),
        ({"time_cost": 1}, "time_cost"),
        ({"parallelism": 0}, "parallelism"),
        ({"hash_len": 8}, "hash_len"),
        ({"salt_len": 8}, "salt_len"),
    ],
)
def test_weaker_parameters_are_refused(params: dict[str, int], name: str) -> None:
    with pytest.raises(ConfigurationError, match=name):
        PasswordHasher(**params)


def test_hashes_are_salted(hasher: PasswordHasher) -> None:
    assert hasher.hash("same") != hasher.hash("same")


def test_verify_good_and_bad(hasher: PasswordHasher) -> None:
    stored = hasher.hash("correct horse")
    assert hasher.verify(stored, "correct horse") is True
    assert hasher.verify(stored, "correct horse ") is False
    assert hasher.verify(stored, "") is False


@pytest.mark.parametrize(
    "stored",
    [
        "",
        "plaintext-password",
        "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW",
        "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$",
        "$argon2id$v=19$m=19456,t=2,p=1$not base64$AAAA",
        "$argon2id$v=19$m=19456,t=2,p=1$ZGVhZGJlZWZkZWFkYmVlZg$ü",
    ],
)
def test_verify_is_false_for_an_unreadable_hash(hasher: PasswordHasher, stored: str) -> None:
    assert hasher.verify(stored, "anything") is False
    assert hasher.needs_rehash(stored) is True


def test_verify_is_false_for_a_truncated_hash(hasher: PasswordHasher) -> None:
    stored = hasher.hash("pw")
    assert hasher.verify(stored[:-5], "pw") is False


def test_needs_rehash(hasher: PasswordHasher) -> None:
    assert hasher.needs_rehash(hasher.hash("pw")) is False
    weak = argon2.PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash("pw")
    assert hasher.verify(weak, "pw") is True
    assert hasher.needs_rehash(weak) is True
    argon2i = argon2.PasswordHasher(
        time_cost=2, memory_cost=19456, parallelism=1, type=argon2.Type.I
    ).hash("pw")
    assert hasher.needs_rehash(argon2i) is True


def test_a_stronger_configuration_rehashes_old_hashes(hasher: PasswordHasher) -> None:
    assert PasswordHasher(time_cost=3).needs_rehash(hasher.hash("pw")) is True


@pytest.mark.parametrize(
    "password", ["pässwörd", "密码是秘密", "🔐 emoji 🗝️", "tab\tand\nnewline", "\ud800 lone"]
)
def test_unicode_passwords_round_trip(hasher: PasswordHasher, password: str) -> None:
    stored = hasher.hash(password)
    assert hasher.verify(stored, password) is True
    assert hasher.verify(stored, password + "x") is False


def test_passwords_are_nfkc_normalised(hasher: PasswordHasher) -> None:
    composed = "caf\u00e9"
    decomposed = "cafe\u0301"
    assert unicodedata.normalize("NFKC", decomposed) == composed
    assert hasher.verify(hasher.hash(composed), decomposed) is True
    # Compatibility forms fold too: a full-width "Ａ" is an "A".
    assert hasher.verify(hasher.hash("\uff21bc"), "Abc") is True


def test_dummy_verify_runs_a_real_verification(hasher: PasswordHasher) -> None:
    assert hasher.dummy_verify("whatever") is None  # type: ignore[func-returns-value]
    dummy = hasher._dummy()
    assert ENCODED.fullmatch(dummy) is not None
    assert hasher.needs_rehash(dummy) is False
    assert hasher._dummy() is dummy


def test_dummy_hash_is_computed_once_across_threads() -> None:
    hasher = PasswordHasher()
    seen: list[str] = []
    threads = [threading.Thread(target=lambda: seen.append(hasher._dummy())) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(seen)) == 1


def test_repr_shows_parameters_only(hasher: PasswordHasher) -> None:
    assert repr(hasher) == "PasswordHasher(memory_cost=19456, time_cost=2, parallelism=1)"


def test_password_hashes_wait_for_a_free_slot() -> None:
    hasher = PasswordHasher(concurrency=1)
    inside, release = threading.Event(), threading.Event()
    entered: list[str] = []
    real = hasher._hasher

    class Held:  # the real argon2 hasher, but the first hash waits to be released
        def hash(self, password: bytes) -> str:
            entered.append(password.decode())
            if password == b"first":
                inside.set()
                release.wait()
            return real.hash(password)

    hasher._hasher = Held()  # type: ignore[assignment]
    first = threading.Thread(target=hasher.hash, args=("first",))
    first.start()
    inside.wait()
    second = threading.Thread(target=hasher.hash, args=("second",))
    second.start()
    try:
        second.join(timeout=0.2)  # it cannot enter: the one slot is taken
        assert entered == ["first"] and second.is_alive()
    finally:
        release.set()
        first.join()
        second.join()
    assert entered == ["first", "second"]
