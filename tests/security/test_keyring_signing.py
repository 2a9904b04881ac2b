from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from twostep.errors import KeyringError
from twostep.security import Keyring
from twostep.security.keyfile import b64url_decode, b64url_encode

OWNER = "totp_device:1"
AES = b64url_encode(bytes(range(32)))
SEED = b64url_encode(bytes(range(100, 132)))
PEPPER = b64url_encode(bytes(range(64, 96)))


def document(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "format": "twostep-keyring",
        "version": 1,
        "pepper": PEPPER,
        "primary": {"aes-256-gcm": "a", "eddsa-ed25519": "s"},
        "keys": [
            {"id": "a", "kind": "aes-256-gcm", "secret": AES},
            {"id": "s", "kind": "eddsa-ed25519", "secret": SEED},
        ],
    }
    doc.update(changes)
    return doc


def raw_public(key: Any) -> bytes:
    return bytes(key.public_bytes(Encoding.Raw, PublicFormat.Raw))


def test_a_ring_without_signing_keys_still_loads_and_cannot_sign() -> None:
    ring = Keyring.from_json(json.dumps(document(primary={"aes-256-gcm": "a"}, keys=[
        {"id": "a", "kind": "aes-256-gcm", "secret": AES},
    ])))  # fmt: skip
    assert ring.signing_key_id is None and ring.signing_key_ids == ()
    assert ring.public_signing_keys() == {}
    with pytest.raises(KeyringError, match="ensure_signing_key"):
        ring.signing_key()


def test_the_reference_document_with_a_signing_key_loads() -> None:
    ring = Keyring.from_json(json.dumps(document()))
    assert ring.key_ids == ("a",) and ring.signing_key_ids == ("s",)
    assert ring.signing_key_id == "s"
    expected = Ed25519PrivateKey.from_private_bytes(bytes(range(100, 132))).public_key()
    assert raw_public(ring.public_signing_keys()["s"]) == raw_public(expected)
    assert raw_public(ring.signing_key().public_key()) == raw_public(expected)


def test_ensure_signing_key_adds_one_only_when_missing() -> None:
    ring = Keyring.generate()
    signing = ring.ensure_signing_key()
    assert signing.signing_key_id is not None
    assert signing.key_ids == ring.key_ids and signing.primary_key_id == ring.primary_key_id
    assert signing.pepper == ring.pepper
    assert signing.ensure_signing_key() is signing
    assert signing.decrypt(ring.encrypt(b"x", owner=OWNER), owner=OWNER) == b"x"


def test_generate_with_signing() -> None:
    ring = Keyring.generate(signing=True)
    assert ring.signing_key_id is not None
    assert ring.signing_key_id not in ring.key_ids
    doc = json.loads(ring.to_json())
    assert doc["primary"] == {
        "aes-256-gcm": ring.primary_key_id, "eddsa-ed25519": ring.signing_key_id,
    }  # fmt: skip
    assert [k["kind"] for k in doc["keys"]] == ["aes-256-gcm", "eddsa-ed25519"]


def test_json_round_trip_keeps_signing_keys(tmp_path: Path) -> None:
    ring = Keyring.generate(signing=True).rotated()
    again = Keyring.from_json(ring.to_json())
    assert again.to_json() == ring.to_json()
    assert again.signing_key_ids == ring.signing_key_ids
    path = tmp_path / "keyring.json"
    ring.save(path)
    loaded = Keyring.load(path)
    assert loaded.signing_key_id == ring.signing_key_id
    message = b"signed before the restart"
    signature = ring.signing_key().sign(message)
    loaded.public_signing_keys()[loaded.signing_key_id or ""].verify(signature, message)


def test_rotation_adds_a_primary_signing_key_and_keeps_the_old_ones() -> None:
    ring = Keyring.generate(signing=True)
    rotated = ring.rotated()
    assert rotated.signing_key_id not in (None, ring.signing_key_id)
    assert rotated.signing_key_ids == (*ring.signing_key_ids, rotated.signing_key_id)
    old = ring.signing_key_id or ""
    assert raw_public(rotated.public_signing_keys()[old]) == raw_public(
        ring.public_signing_keys()[old]
    )
    assert rotated.key_ids == (*ring.key_ids, rotated.primary_key_id)


def test_rotating_a_ring_without_signing_keys_gives_it_one() -> None:
    assert Keyring.generate().rotated().signing_key_ids != ()


def test_retiring_an_old_signing_key() -> None:
    ring = Keyring.generate(signing=True)
    rotated = ring.rotated()
    retired = rotated.retired(ring.signing_key_id or "")
    assert retired.signing_key_ids == (rotated.signing_key_id,)
    assert retired.key_ids == rotated.key_ids
    with pytest.raises(KeyringError, match="primary"):
        rotated.retired(rotated.signing_key_id or "")


def test_ids_are_unique_across_kinds() -> None:
    with pytest.raises(KeyringError, match="used by two keys"):
        Keyring(
            keys={"k": bytes(32)}, primary_key_id="k", pepper=bytes(32),
            signing_keys={"k": bytes(32)}, primary_signing_key_id="k",
        )  # fmt: skip
    text = json.dumps(document(primary={"aes-256-gcm": "a", "eddsa-ed25519": "a"}, keys=[
        {"id": "a", "kind": "aes-256-gcm", "secret": AES},
        {"id": "a", "kind": "eddsa-ed25519", "secret": SEED},
    ]))  # fmt: skip
    with pytest.raises(KeyringError, match="duplicate key id"):
        Keyring.from_json(text)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"primary": {"aes-256-gcm": "a"}}, "no primary key named for kind 'eddsa-ed25519'"),
        ({"primary": {"aes-256-gcm": "a", "eddsa-ed25519": "a"}}, "'a' is not among the keys"),
        ({"primary": {"eddsa-ed25519": "s"}, "keys": [
            {"id": "s", "kind": "eddsa-ed25519", "secret": SEED}]}, "aes-256-gcm key"),
        ({"keys": [{"id": "a", "kind": "aes-256-gcm", "secret": AES},
                   {"id": "s", "kind": "eddsa-ed25519", "secret": SEED[:20]}]}, "32 bytes"),
    ],
)  # fmt: skip
def test_malformed_signing_entries_are_refused(change: dict[str, Any], message: str) -> None:
    with pytest.raises(KeyringError, match=message) as caught:
        Keyring.from_json(json.dumps(document(**change)))
    assert SEED[:20] not in str(caught.value)


def test_constructor_checks_the_signing_primary() -> None:
    base: dict[str, Any] = {"keys": {"k": bytes(32)}, "primary_key_id": "k", "pepper": bytes(32)}
    with pytest.raises(KeyringError, match="primary signing key 'z'"):
        Keyring(**base, signing_keys={"s": bytes(32)}, primary_signing_key_id="z")
    with pytest.raises(KeyringError, match="there are none"):
        Keyring(**base, primary_signing_key_id="s")


def test_repr_and_json_of_public_parts_hold_no_signing_seed() -> None:
    ring = Keyring.generate(signing=True).rotated()
    seeds = [
        b64url_decode(k["secret"], "k")
        for k in json.loads(ring.to_json())["keys"]
        if k["kind"] == "eddsa-ed25519"
    ]
    assert len(seeds) == 2
    assert f"signing_key_id={ring.signing_key_id!r}" in repr(ring)
    for value in seeds:
        private = Ed25519PrivateKey.from_private_bytes(value)
        assert private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption()) == value
        for form in (b64url_encode(value), value.hex(), repr(value)):
            assert form not in repr(ring) and form not in str(ring)
            assert form not in repr(ring.signing_key())
