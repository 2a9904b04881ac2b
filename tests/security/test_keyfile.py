from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from twostep.errors import KeyringError
from twostep.security import Keyring
from twostep.security.keyfile import b64url_decode, b64url_encode

OWNER = "totp_device:7"
KEY_A = b64url_encode(bytes(range(32)))
KEY_B = b64url_encode(bytes(range(32, 64)))
PEPPER = b64url_encode(bytes(range(64, 96)))

Doc = dict[str, Any]


def valid() -> Doc:
    return {
        "format": "twostep-keyring",
        "version": 1,
        "pepper": PEPPER,
        "primary": {"aes-256-gcm": "b"},
        "keys": [
            {"id": "a", "kind": "aes-256-gcm", "secret": KEY_A},
            {"id": "b", "kind": "aes-256-gcm", "secret": KEY_B},
        ],
    }


def mutate(change: Callable[[Doc], object]) -> str:
    doc = valid()
    change(doc)
    return json.dumps(doc)


def test_the_reference_document_loads() -> None:
    ring = Keyring.from_json(json.dumps(valid()))
    assert ring.key_ids == ("a", "b")
    assert ring.primary_key_id == "b"
    assert ring.pepper == bytes(range(64, 96))


def test_json_round_trip() -> None:
    ring = Keyring.generate().rotated()
    text = ring.to_json()
    again = Keyring.from_json(text)
    assert again.to_json() == text
    assert again.key_ids == ring.key_ids
    assert again.primary_key_id == ring.primary_key_id
    assert again.pepper == ring.pepper
    assert again.decrypt(ring.encrypt(b"s", owner=OWNER), owner=OWNER) == b"s"


def test_json_shape() -> None:
    ring = Keyring.generate()
    doc = json.loads(ring.to_json())
    assert doc["format"] == "twostep-keyring"
    assert doc["version"] == 1
    assert doc["primary"] == {"aes-256-gcm": ring.primary_key_id}
    assert [k["kind"] for k in doc["keys"]] == ["aes-256-gcm"]
    assert "=" not in doc["pepper"] + doc["keys"][0]["secret"]
    assert b64url_decode(doc["pepper"], "pepper") == ring.pepper


def test_pepper_survives_rotation_and_json() -> None:
    ring = Keyring.generate()
    assert Keyring.from_json(ring.rotated().to_json()).pepper == ring.pepper


MALFORMED: list[tuple[str, str, str]] = [
    ("not json", "{not json", "not valid JSON"),
    ("empty", "", "not valid JSON"),
    ("array", "[]", "must be a JSON object"),
    ("duplicate member", '{"version": 1, "version": 1}', "'version' appears twice"),
    ("missing format", mutate(lambda d: d.pop("format")), "lacks format"),
    ("wrong format", mutate(lambda d: d.update(format="other")), "format must be"),
    ("missing version", mutate(lambda d: d.pop("version")), "lacks version"),
    ("future version", mutate(lambda d: d.update(version=2)), "unsupported version 2"),
    ("bool version", mutate(lambda d: d.update(version=True)), "unsupported version True"),
    ("string version", mutate(lambda d: d.update(version="1")), "unsupported version '1'"),
    ("unknown field", mutate(lambda d: d.update(extra=1)), "unknown field"),
    ("missing pepper", mutate(lambda d: d.pop("pepper")), "lacks pepper"),
    ("pepper not string", mutate(lambda d: d.update(pepper=5)), "pepper must be a string"),
    ("pepper padded", mutate(lambda d: d.update(pepper=PEPPER + "=")), "pepper is not"),
    ("pepper std base64", mutate(lambda d: d.update(pepper="+/" + PEPPER[2:])), "pepper is not"),
    ("pepper short", mutate(lambda d: d.update(pepper=KEY_A[:20])), "pepper must be 32 bytes"),
    ("missing keys", mutate(lambda d: d.pop("keys")), "lacks keys"),
    ("keys not list", mutate(lambda d: d.update(keys={})), "non-empty list"),
    ("keys empty", mutate(lambda d: d.update(keys=[])), "non-empty list"),
    ("key not object", mutate(lambda d: d["keys"].append("k")), r"keys\[2\] must be"),
    ("key lacks id", mutate(lambda d: d["keys"][0].pop("id")), r"keys\[0\] lacks id"),
    ("key lacks secret", mutate(lambda d: d["keys"][1].pop("secret")), "lacks secret"),
    ("key lacks kind", mutate(lambda d: d["keys"][1].pop("kind")), "lacks kind"),
    ("key extra field", mutate(lambda d: d["keys"][0].update(note="x")), "unknown field"),
    ("id not string", mutate(lambda d: d["keys"][0].update(id=1)), r"keys\[0\]\.id must be"),
    ("id bad chars", mutate(lambda d: d["keys"][0].update(id="a/b")), "key id 'a/b'"),
    ("unknown kind", mutate(lambda d: d["keys"][0].update(kind="ed25519")), "unsupported kind"),
    ("duplicate id", mutate(lambda d: d["keys"][0].update(id="b")), "duplicate key id 'b'"),
    ("secret not b64", mutate(lambda d: d["keys"][0].update(secret="!!")), "secret is not"),
    ("secret short", mutate(lambda d: d["keys"][0].update(secret=KEY_A[:22])), "32 bytes"),
    ("secret long", mutate(lambda d: d["keys"][0].update(secret=KEY_A + "AAAA")), "32 bytes"),
    ("missing primary", mutate(lambda d: d.pop("primary")), "lacks primary"),
    ("primary empty", mutate(lambda d: d.update(primary={})), "no primary key named"),
    ("primary string", mutate(lambda d: d.update(primary="b")), "primary must be an object"),
    ("primary unknown", mutate(lambda d: d["primary"].update({"aes-256-gcm": "z"})), "'z'"),
    ("primary kind", mutate(lambda d: d["primary"].update(rsa="a")), "unsupported kind 'rsa'"),
    ("primary id type", mutate(lambda d: d["primary"].update({"aes-256-gcm": 1})), "string"),
]


@pytest.mark.parametrize(
    ("text", "message"), [c[1:] for c in MALFORMED], ids=[c[0] for c in MALFORMED]
)
def test_malformed_documents_are_refused(text: str, message: str) -> None:
    with pytest.raises(KeyringError, match=message) as caught:
        Keyring.from_json(text)
    for secret in (KEY_A, KEY_B, PEPPER):
        assert secret[:20] not in str(caught.value)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """Run with umask 0, so only the code under test can keep the file private."""
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.usefixtures("open_umask")
def test_save_writes_mode_0600(tmp_path: Path) -> None:
    path = tmp_path / "keyring.json"
    ring = Keyring.generate()
    ring.save(path)
    assert mode(path) == 0o600
    assert path.read_text(encoding="utf-8") == ring.to_json()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keyring.json"]


def test_save_refuses_to_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "keyring.json"
    first = Keyring.generate()
    first.save(path)
    with pytest.raises(KeyringError, match="already exists"):
        Keyring.generate().save(path)
    assert Keyring.load(str(path)).to_json() == first.to_json()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keyring.json"]


@pytest.mark.usefixtures("open_umask")
def test_save_overwrites_when_told_and_stays_private(tmp_path: Path) -> None:
    path = tmp_path / "keyring.json"
    path.write_text("old", encoding="utf-8")
    path.chmod(0o644)
    ring = Keyring.generate()
    ring.save(path, overwrite=True)
    assert mode(path) == 0o600
    assert Keyring.load(str(path)).to_json() == ring.to_json()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keyring.json"]


def test_save_into_a_missing_directory_fails(tmp_path: Path) -> None:
    with pytest.raises(KeyringError, match="cannot write keyring file"):
        Keyring.generate().save(tmp_path / "missing" / "keyring.json")


def test_save_onto_a_directory_fails(tmp_path: Path) -> None:
    (tmp_path / "keyring.json").mkdir()
    with pytest.raises(KeyringError, match="cannot write keyring file"):
        Keyring.generate().save(tmp_path / "keyring.json", overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keyring.json"]


def test_load_from_a_path(tmp_path: Path) -> None:
    path = tmp_path / "keyring.json"
    ring = Keyring.generate()
    ring.save(path)
    for source in (str(path), path):
        assert Keyring.load(source).to_json() == ring.to_json()


def test_load_from_json_text() -> None:
    ring = Keyring.generate()
    assert Keyring.load(ring.to_json()).to_json() == ring.to_json()
    assert Keyring.load("\n  " + ring.to_json()).primary_key_id == ring.primary_key_id


def test_load_from_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(KeyringError, match="does not exist"):
        Keyring.load(str(tmp_path / "nope.json"))


def test_load_from_a_directory(tmp_path: Path) -> None:
    with pytest.raises(KeyringError, match="cannot read keyring file"):
        Keyring.load(str(tmp_path))


def test_load_refuses_a_malformed_file(tmp_path: Path) -> None:
    path = tmp_path / "keyring.json"
    path.write_text(mutate(lambda d: d.update(version=9)), encoding="utf-8")
    with pytest.raises(KeyringError, match="unsupported version 9"):
        Keyring.load(str(path))


def test_load_refuses_a_binary_file(tmp_path: Path) -> None:
    path = tmp_path / "keyring.json"
    path.write_bytes(b"\xff\xfe")
    with pytest.raises(KeyringError, match="not UTF-8"):
        Keyring.load(str(path))
