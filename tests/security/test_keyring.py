from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from twostep.errors import DecryptionError, KeyringError
from twostep.security import Keyring, Sealed
from twostep.security.keyfile import b64url_decode, b64url_encode
from twostep.security.keyring import associated_data

OWNER = "totp_device:42"
SECRET = b"JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


@pytest.fixture
def ring() -> Keyring:
    return Keyring.generate()


def test_round_trip(ring: Keyring) -> None:
    sealed = ring.encrypt(SECRET, owner=OWNER)
    assert sealed.key_id == ring.primary_key_id
    assert ring.decrypt(sealed, owner=OWNER) == SECRET


def test_empty_plaintext_round_trips(ring: Keyring) -> None:
    assert ring.decrypt(ring.encrypt(b"", owner=OWNER), owner=OWNER) == b""


def test_ciphertext_is_nonce_then_body_and_tag(ring: Keyring) -> None:
    sealed = ring.encrypt(SECRET, owner=OWNER)
    assert len(sealed.ciphertext) == 12 + len(SECRET) + 16
    assert SECRET not in sealed.ciphertext


def test_two_encryptions_of_one_plaintext_differ(ring: Keyring) -> None:
    first = ring.encrypt(SECRET, owner=OWNER)
    second = ring.encrypt(SECRET, owner=OWNER)
    assert first.ciphertext != second.ciphertext
    assert first.ciphertext[:12] != second.ciphertext[:12]


def test_stored_layout_is_stable() -> None:
    """A value sealed by hand in the documented layout opens: stored rows stay readable."""
    key, pepper = bytes(range(32)), bytes(32)
    ring = Keyring(keys={"k1": key}, primary_key_id="k1", pepper=pepper)
    nonce = bytes(12)
    aad = b"twostep.keyring.v1\x00" + b"\x02" + b"k1" + OWNER.encode()
    assert associated_data("k1", OWNER) == aad
    body = AESGCM(key).encrypt(nonce, SECRET, aad)
    assert ring.decrypt(Sealed("k1", nonce + body), owner=OWNER) == SECRET


def test_rotation_keeps_old_ciphertexts_readable(ring: Keyring) -> None:
    old = ring.encrypt(SECRET, owner=OWNER)
    rotated = ring.rotated()
    assert rotated.primary_key_id != ring.primary_key_id
    assert rotated.key_ids == (*ring.key_ids, rotated.primary_key_id)
    assert rotated.decrypt(old, owner=OWNER) == SECRET
    new = rotated.encrypt(SECRET, owner=OWNER)
    assert new.key_id == rotated.primary_key_id
    with pytest.raises(DecryptionError, match="unknown key id"):
        ring.decrypt(new, owner=OWNER)


def test_reencrypt_moves_a_ciphertext_to_the_primary(ring: Keyring) -> None:
    old = ring.encrypt(SECRET, owner=OWNER)
    rotated = ring.rotated()
    assert rotated.needs_reencrypt(old) is True
    moved = rotated.reencrypt(old, owner=OWNER)
    assert moved.key_id == rotated.primary_key_id
    assert rotated.needs_reencrypt(moved) is False
    assert rotated.decrypt(moved, owner=OWNER) == SECRET
    assert ring.needs_reencrypt(old) is False


def test_reencrypt_keeps_the_owner_binding(ring: Keyring) -> None:
    rotated = ring.rotated()
    moved = rotated.reencrypt(ring.encrypt(SECRET, owner=OWNER), owner=OWNER)
    with pytest.raises(DecryptionError):
        rotated.decrypt(moved, owner="totp_device:43")
    with pytest.raises(DecryptionError):
        rotated.reencrypt(ring.encrypt(SECRET, owner=OWNER), owner="totp_device:43")


def test_retired_drops_an_old_key(ring: Keyring) -> None:
    rotated = ring.rotated()
    retired = rotated.retired(ring.primary_key_id)
    assert retired.key_ids == (rotated.primary_key_id,)
    assert retired.pepper == ring.pepper
    with pytest.raises(DecryptionError, match="unknown key id"):
        retired.decrypt(ring.encrypt(SECRET, owner=OWNER), owner=OWNER)


def test_the_primary_cannot_be_retired(ring: Keyring) -> None:
    with pytest.raises(KeyringError, match="primary"):
        ring.retired(ring.primary_key_id)
    with pytest.raises(KeyringError, match="no key 'nope'"):
        ring.retired("nope")


def test_tampering_any_byte_is_detected(ring: Keyring) -> None:
    sealed = ring.encrypt(b"short secret", owner=OWNER)
    for index in range(len(sealed.ciphertext)):
        for flip in (0x01, 0x80):
            data = bytearray(sealed.ciphertext)
            data[index] ^= flip
            with pytest.raises(DecryptionError, match="altered"):
                ring.decrypt(Sealed(sealed.key_id, bytes(data)), owner=OWNER)


@pytest.mark.parametrize("cut", [1, 16, 27])
def test_truncation_is_detected(ring: Keyring, cut: int) -> None:
    sealed = ring.encrypt(b"", owner=OWNER)
    with pytest.raises(DecryptionError):
        ring.decrypt(Sealed(sealed.key_id, sealed.ciphertext[:-cut]), owner=OWNER)


def test_appended_bytes_are_detected(ring: Keyring) -> None:
    sealed = ring.encrypt(SECRET, owner=OWNER)
    with pytest.raises(DecryptionError):
        ring.decrypt(Sealed(sealed.key_id, sealed.ciphertext + b"\x00"), owner=OWNER)


def test_wrong_owner_is_refused(ring: Keyring) -> None:
    sealed = ring.encrypt(SECRET, owner=OWNER)
    for other in ("totp_device:43", "totp_device:4", "totp_device:420", "TOTP_DEVICE:42"):
        with pytest.raises(DecryptionError, match="another owner"):
            ring.decrypt(sealed, owner=other)


def test_relabelled_key_id_is_refused(ring: Keyring) -> None:
    rotated = ring.rotated()
    sealed = rotated.encrypt(SECRET, owner=OWNER)
    with pytest.raises(DecryptionError):
        rotated.decrypt(Sealed(ring.primary_key_id, sealed.ciphertext), owner=OWNER)


def test_unknown_key_id_is_named(ring: Keyring) -> None:
    sealed = Keyring.generate().encrypt(SECRET, owner=OWNER)
    with pytest.raises(DecryptionError, match=f"unknown key id '{sealed.key_id}'") as caught:
        ring.decrypt(sealed, owner=OWNER)
    assert ring.primary_key_id in str(caught.value)


def test_decryption_error_is_a_keyring_error(ring: Keyring) -> None:
    with pytest.raises(KeyringError):
        ring.decrypt(Sealed("missing", b""), owner=OWNER)


@pytest.mark.parametrize("owner", ["", None])
def test_owner_is_required(ring: Keyring, owner: str) -> None:
    with pytest.raises(ValueError, match="owner"):
        ring.encrypt(SECRET, owner=owner)
    with pytest.raises(ValueError, match="owner"):
        ring.decrypt(ring.encrypt(SECRET, owner=OWNER), owner=owner)


def test_pepper_is_32_bytes_and_survives_rotation(ring: Keyring) -> None:
    assert len(ring.pepper) == 32
    assert ring.rotated().rotated().pepper == ring.pepper
    assert Keyring.generate().pepper != ring.pepper


def test_pepper_is_independent_of_the_keys(ring: Keyring) -> None:
    secrets = [b64url_decode(k["secret"], "k") for k in json.loads(ring.to_json())["keys"]]
    assert ring.pepper not in secrets


def test_repr_and_str_hold_no_key_material(ring: Keyring) -> None:
    ring = ring.rotated()
    doc = json.loads(ring.to_json())
    material = [b64url_decode(k["secret"], "k") for k in doc["keys"]] + [ring.pepper]
    for text in (repr(ring), str(ring), f"{ring}", repr([ring])):
        assert ring.primary_key_id in text
        for value in material:
            for form in (b64url_encode(value), value.hex(), repr(value), str(list(value))[1:-1]):
                assert form not in text


def test_sealed_repr_shows_length_not_bytes(ring: Keyring) -> None:
    sealed = ring.encrypt(SECRET, owner=OWNER)
    assert repr(sealed) == f"Sealed(key_id='{sealed.key_id}', ciphertext=<60 bytes>)"


def test_generated_key_ids_are_random() -> None:
    ids = {Keyring.generate().primary_key_id for _ in range(50)}
    assert len(ids) == 50


@pytest.mark.parametrize(
    ("keys", "primary", "pepper", "message"),
    [
        ({}, "k1", bytes(32), "at least one key"),
        ({"k1": bytes(16)}, "k1", bytes(32), "must be 32 bytes"),
        ({"k1": bytes(33)}, "k1", bytes(32), "must be 32 bytes"),
        ({"k1": bytes(32)}, "k2", bytes(32), "primary key 'k2' is not among"),
        ({"k1": bytes(32)}, "k1", bytes(16), "pepper must be 32 bytes"),
        ({"": bytes(32)}, "", bytes(32), "key id ''"),
        ({"-k": bytes(32)}, "-k", bytes(32), "key id '-k'"),
        ({"a b": bytes(32)}, "a b", bytes(32), "key id 'a b'"),
        ({"k" * 65: bytes(32)}, "k" * 65, bytes(32), "1-64 characters"),
    ],
)
def test_constructor_validates(
    keys: dict[str, bytes], primary: str, pepper: bytes, message: str
) -> None:
    with pytest.raises(KeyringError, match=message):
        Keyring(keys=keys, primary_key_id=primary, pepper=pepper)
