"""AES-256-GCM keys with ids, for secrets at rest, and Ed25519 keys that sign access tokens.

Invariants:

- Encryption always uses the primary key; decryption accepts any key of the ring, so rotation
  (:meth:`Keyring.rotated`, then :meth:`Keyring.reencrypt` row by row) never strands a secret.
- Each ciphertext is ``nonce (12 random bytes) || AES-GCM ciphertext and tag``. Its key id is
  stored beside it (:class:`Sealed`), and the associated data binds both the key id and the
  *owner* (e.g. ``"totp_device:42"``), so a ciphertext copied onto another row, or relabelled
  with another key id, fails authentication instead of decrypting.
- Nonces are random, so NIST SP 800-38D caps one key at 2**32 encryptions. Secrets are sealed
  once per enrollment or rotation, many orders of magnitude below that.
- The pepper for keyed hashes is a separate 32-byte random value kept in the ring. It is *not*
  derived from any AES key and never changes on rotation, because every stored keyed hash
  (backup codes, reset tokens, throttle keys) would silently stop matching if it did.
- Key ids are random, so two independently generated rings never share one: opening a value
  with the wrong ring reports an unknown key id rather than a baffling tamper error.
- Signing keys follow the same rule as AES keys: only the primary signs, every signing key of
  the ring stays published (:meth:`Keyring.public_signing_keys`), so a token signed before a
  rotation still verifies until it expires. A ring written before signing keys existed has none;
  :meth:`Keyring.ensure_signing_key` adds one, and the caller saves the ring. A signing key is
  never made up on the fly: every worker must sign with the same persistent key.
- Key ids are unique across kinds, so a token's ``kid`` never names an AES key.
- No key material appears in ``repr`` or ``str``.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from twostep.errors import DecryptionError, KeyringError
from twostep.security import keyfile
from twostep.security.secret import SecretBytes

KEY_BYTES = 32
SIGNING_SEED_BYTES = 32
PEPPER_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
_KEY_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_AAD_PREFIX = b"twostep.keyring.v1\x00"


@dataclass(frozen=True, slots=True, repr=False)
class Sealed:
    """A ciphertext and the id of the key that sealed it: the two columns stored per secret."""

    key_id: str
    ciphertext: bytes

    def __repr__(self) -> str:
        return f"Sealed(key_id={self.key_id!r}, ciphertext=<{len(self.ciphertext)} bytes>)"


def associated_data(key_id: str, owner: str) -> bytes:
    """The AEAD associated data: a version tag, the length-prefixed key id, then the owner.

    The length prefix makes the encoding unambiguous, so no (key id, owner) pair can pose as
    another. This layout is a storage format: changing it makes every stored secret unreadable.
    """
    kid = key_id.encode("ascii")
    return _AAD_PREFIX + len(kid).to_bytes(1, "big") + kid + owner.encode("utf-8")


def _new_key_id(*taken: Mapping[str, object]) -> str:
    while True:
        key_id = secrets.token_hex(6)
        if not any(key_id in ids for ids in taken):
            return key_id


def _check_owner(owner: str) -> None:
    if not isinstance(owner, str) or not owner:
        raise ValueError("owner must be a non-empty string, e.g. 'totp_device:42'")


def _check_key(key_id: str, secret: bytes, size: int, kind: str) -> None:
    if not isinstance(key_id, str) or not _KEY_ID.fullmatch(key_id):
        raise KeyringError(
            f"keyring: key id {key_id!r} must be 1-64 characters of "
            "letters, digits, '.', '_' or '-', starting with a letter or digit"
        )
    if not isinstance(secret, bytes) or len(secret) != size:
        raise KeyringError(f"keyring: key {key_id!r} must be {size} bytes for {kind}")


class Keyring:
    """An immutable set of AES-256-GCM keys and Ed25519 signing keys, each with a primary.

    >>> ring = Keyring.generate()
    >>> sealed = ring.encrypt(b"JBSWY3DPEHPK3PXP", owner="totp_device:1")
    >>> ring.rotated().decrypt(sealed, owner="totp_device:1")
    b'JBSWY3DPEHPK3PXP'
    >>> ring.signing_key_id is None, ring.ensure_signing_key().signing_key_id is not None
    (True, True)
    """

    __slots__ = ("_keys", "_secrets", "_primary", "_pepper", "_signers", "_seeds", "_signer")

    def __init__(
        self,
        *,
        keys: Mapping[str, bytes],
        primary_key_id: str,
        pepper: bytes,
        signing_keys: Mapping[str, bytes] | None = None,
        primary_signing_key_id: str | None = None,
    ) -> None:
        """Build a ring from raw keys, each kind listed oldest first. Raises :class:`KeyringError`.

        ``signing_keys`` maps key ids to 32-byte Ed25519 private seeds; when there are any,
        ``primary_signing_key_id`` names the one that signs.
        """
        if not keys:
            raise KeyringError("keyring: a keyring needs at least one key")
        self._keys: dict[str, AESGCM] = {}
        for key_id, secret in keys.items():
            _check_key(key_id, secret, KEY_BYTES, keyfile.KIND_AES_GCM)
            self._keys[key_id] = AESGCM(secret)
        if primary_key_id not in self._keys:
            raise KeyringError(f"keyring: primary key {primary_key_id!r} is not among the keys")
        if not isinstance(pepper, bytes) or len(pepper) != PEPPER_BYTES:
            raise KeyringError(f"keyring: the pepper must be {PEPPER_BYTES} bytes")
        self._signers: dict[str, Ed25519PrivateKey] = {}
        for key_id, seed in (signing_keys or {}).items():
            _check_key(key_id, seed, SIGNING_SEED_BYTES, keyfile.KIND_ED25519)
            if key_id in self._keys:
                raise KeyringError(f"keyring: key id {key_id!r} is used by two keys")
            self._signers[key_id] = Ed25519PrivateKey.from_private_bytes(seed)
        if self._signers and primary_signing_key_id not in self._signers:
            raise KeyringError(
                f"keyring: primary signing key {primary_signing_key_id!r} is not among the keys"
            )
        if not self._signers and primary_signing_key_id is not None:
            raise KeyringError("keyring: a primary signing key is named but there are none")
        self._primary = primary_key_id
        self._signer = primary_signing_key_id
        self._pepper = SecretBytes(pepper)
        self._secrets = {key_id: SecretBytes(secret) for key_id, secret in keys.items()}
        self._seeds = {key_id: SecretBytes(seed) for key_id, seed in (signing_keys or {}).items()}

    # --- construction ---------------------------------------------------------------------

    @classmethod
    def generate(cls, *, signing: bool = False) -> Keyring:
        """A new ring with one fresh primary key and a fresh pepper; a signing key if asked."""
        key_id = _new_key_id()
        ring = cls(
            keys={key_id: AESGCM.generate_key(bit_length=256)},
            primary_key_id=key_id,
            pepper=secrets.token_bytes(PEPPER_BYTES),
        )
        return ring.ensure_signing_key() if signing else ring

    def rotated(self) -> Keyring:
        """A new ring whose primary AES key and primary signing key are both fresh.

        Old keys stay: AES keys to decrypt, signing keys to verify tokens they signed. The
        pepper stays too. A ring without signing keys gains its first one.
        """
        key_id = _new_key_id(self._keys, self._signers)
        keys = self._raw_keys()
        keys[key_id] = AESGCM.generate_key(bit_length=256)
        ring = self._replace(keys=keys, primary_key_id=key_id)
        return ring._with_new_signing_key()

    def ensure_signing_key(self) -> Keyring:
        """This ring if it can sign tokens, else a copy with a fresh primary signing key.

        The copy must be saved by the caller (e.g. at start-up), or every restart would sign
        with a new key and strand the tokens of the previous one.
        """
        return self if self._signer is not None else self._with_new_signing_key()

    def retired(self, key_id: str) -> Keyring:
        """A new ring without ``key_id`` (AES or signing), once nothing needs it. Never a primary.

        Retire a signing key only after the access-token lifetime has passed since rotation.
        """
        if key_id in (self._primary, self._signer):
            raise KeyringError(f"keyring: key {key_id!r} is the primary and cannot be retired")
        keys, seeds = self._raw_keys(), self._raw_seeds()
        if keys.pop(key_id, None) is None and seeds.pop(key_id, None) is None:
            raise KeyringError(f"keyring: no key {key_id!r} to retire")
        return self._replace(keys=keys, signing_keys=seeds)

    def _with_new_signing_key(self) -> Keyring:
        key_id = _new_key_id(self._keys, self._signers)
        seeds = self._raw_seeds()
        seeds[key_id] = Ed25519PrivateKey.generate().private_bytes(
            Encoding.Raw, PrivateFormat.Raw, NoEncryption()
        )
        return self._replace(signing_keys=seeds, primary_signing_key_id=key_id)

    def _replace(
        self,
        *,
        keys: Mapping[str, bytes] | None = None,
        primary_key_id: str | None = None,
        signing_keys: Mapping[str, bytes] | None = None,
        primary_signing_key_id: str | None = None,
    ) -> Keyring:
        return Keyring(
            keys=self._raw_keys() if keys is None else keys,
            primary_key_id=primary_key_id or self._primary,
            pepper=self._pepper.reveal(),
            signing_keys=self._raw_seeds() if signing_keys is None else signing_keys,
            primary_signing_key_id=primary_signing_key_id or self._signer,
        )

    def _raw_keys(self) -> dict[str, bytes]:
        return {key_id: secret.reveal() for key_id, secret in self._secrets.items()}

    def _raw_seeds(self) -> dict[str, bytes]:
        return {key_id: seed.reveal() for key_id, seed in self._seeds.items()}

    # --- inspection -----------------------------------------------------------------------

    @property
    def primary_key_id(self) -> str:
        """The id of the key every new ciphertext is sealed with."""
        return self._primary

    @property
    def key_ids(self) -> tuple[str, ...]:
        """Every AES key id, oldest first."""
        return tuple(self._keys)

    @property
    def pepper(self) -> bytes:
        """The 32-byte HMAC key for :func:`twostep.security.keyed_hash`; stable across rotation."""
        return self._pepper.reveal()

    @property
    def signing_key_id(self) -> str | None:
        """The ``kid`` every new access token is signed with; ``None`` for a ring without one."""
        return self._signer

    @property
    def signing_key_ids(self) -> tuple[str, ...]:
        """Every signing key id, oldest first."""
        return tuple(self._signers)

    def signing_key(self) -> Ed25519PrivateKey:
        """The primary Ed25519 private key. Raises :class:`KeyringError` if the ring has none."""
        if self._signer is None:
            raise KeyringError(
                "keyring: the ring has no signing key; call ensure_signing_key() and save it"
            )
        return self._signers[self._signer]

    def public_signing_keys(self) -> dict[str, Ed25519PublicKey]:
        """The public half of every signing key, by ``kid``, oldest first: what JWKS publishes."""
        return {key_id: key.public_key() for key_id, key in self._signers.items()}

    def __repr__(self) -> str:
        return (
            f"Keyring(primary_key_id={self._primary!r}, key_ids={self.key_ids!r}, "
            f"signing_key_id={self._signer!r})"
        )

    __str__ = __repr__

    # --- sealing --------------------------------------------------------------------------

    def encrypt(self, plaintext: bytes, *, owner: str) -> Sealed:
        """Seal ``plaintext`` for ``owner`` with the primary key and a fresh random nonce."""
        _check_owner(owner)
        nonce = os.urandom(NONCE_BYTES)
        aad = associated_data(self._primary, owner)
        body = self._keys[self._primary].encrypt(nonce, plaintext, aad)
        return Sealed(key_id=self._primary, ciphertext=nonce + body)

    def decrypt(self, sealed: Sealed, *, owner: str) -> bytes:
        """Open ``sealed`` with whichever key sealed it. Raises :class:`DecryptionError`."""
        _check_owner(owner)
        aead = self._keys.get(sealed.key_id)
        if aead is None:
            raise DecryptionError(
                f"unknown key id {sealed.key_id[:80]!r}: this keyring holds "
                f"{', '.join(self._keys)}; was the value sealed with another keyring?"
            )
        data = sealed.ciphertext
        if len(data) < NONCE_BYTES + TAG_BYTES:
            raise DecryptionError(
                f"ciphertext under key {sealed.key_id!r} is {len(data)} bytes, too short to hold "
                "a nonce and a tag: it was truncated"
            )
        try:
            return aead.decrypt(
                data[:NONCE_BYTES], data[NONCE_BYTES:], associated_data(sealed.key_id, owner)
            )
        except InvalidTag:
            raise DecryptionError(
                f"ciphertext under key {sealed.key_id!r} failed authentication for owner "
                f"{owner!r}: either it was altered, or it belongs to another owner"
            ) from None

    def reencrypt(self, sealed: Sealed, *, owner: str) -> Sealed:
        """Open with any key, seal again with the primary: one step of a key rotation."""
        return self.encrypt(self.decrypt(sealed, owner=owner), owner=owner)

    def needs_reencrypt(self, sealed: Sealed) -> bool:
        """True when ``sealed`` was not sealed with the primary key."""
        return sealed.key_id != self._primary

    # --- serialisation --------------------------------------------------------------------

    def to_json(self) -> str:
        """The ring as a version-1 keyring document (see :mod:`twostep.security.keyfile`)."""
        primary = {keyfile.KIND_AES_GCM: self._primary}
        if self._signer is not None:
            primary[keyfile.KIND_ED25519] = self._signer
        return keyfile.dump(
            keyfile.KeyringDocument(
                pepper=self._pepper,
                primary=primary,
                keys=(
                    *(
                        keyfile.KeyEntry(k, keyfile.KIND_AES_GCM, s)
                        for k, s in self._secrets.items()
                    ),
                    *(keyfile.KeyEntry(k, keyfile.KIND_ED25519, s) for k, s in self._seeds.items()),
                ),
            )
        )

    @classmethod
    def from_json(cls, text: str) -> Keyring:
        """Parse a keyring document. Raises :class:`KeyringError` naming what is wrong."""
        document = keyfile.parse(text)
        if keyfile.KIND_AES_GCM not in document.primary:
            raise KeyringError(f"keyring: a keyring needs at least one {keyfile.KIND_AES_GCM} key")
        by_kind: dict[str, dict[str, bytes]] = {kind: {} for kind in keyfile.KINDS}
        for k in document.keys:
            by_kind[k.kind][k.id] = k.secret.reveal()
        return cls(
            keys=by_kind[keyfile.KIND_AES_GCM],
            primary_key_id=document.primary[keyfile.KIND_AES_GCM],
            pepper=document.pepper.reveal(),
            signing_keys=by_kind[keyfile.KIND_ED25519],
            primary_signing_key_id=document.primary.get(keyfile.KIND_ED25519),
        )

    @classmethod
    def load(cls, source: str | os.PathLike[str]) -> Keyring:
        """Load from a JSON document (text starting with ``{``) or from a file path."""
        return cls.from_json(keyfile.read_source(source))

    def save(self, path: Path, *, overwrite: bool = False) -> None:
        """Write the ring to ``path`` atomically, mode 0600; refuse to replace unless told."""
        keyfile.write_private(Path(path), self.to_json(), overwrite=overwrite)
