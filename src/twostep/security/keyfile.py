"""The keyring file format: versioned JSON, strict parsing, and private atomic writes.

A keyring file is the only copy of the keys that open every secret in the database, so this
module is strict both ways. Reading rejects anything it does not fully understand (unknown
fields, unknown key kinds, duplicate ids or member names) instead of guessing, because a key
that is silently dropped and then saved back is data that can never be decrypted again. Error
messages name the offending field, never a key's value. Writing creates the file with mode 0600
from its first byte and moves it into place atomically, so keys are never readable by others,
even briefly, and a crash never leaves a half-written keyring behind.

Version 1 (keys oldest first; binary values are unpadded base64url)::

    {
      "format": "twostep-keyring",
      "version": 1,
      "pepper": "<32 random bytes>",
      "primary": {"aes-256-gcm": "3f9c0a1b2c4d"},
      "keys": [{"id": "3f9c0a1b2c4d", "kind": "aes-256-gcm", "secret": "<32 bytes>"}]
    }

Every kind that has keys names its primary key in ``primary``. Two kinds exist:

- ``aes-256-gcm``: ``secret`` is the 32-byte AES key that seals secrets at rest.
- ``eddsa-ed25519``: ``secret`` is the 32-byte Ed25519 private seed (RFC 8032) that signs access
  tokens. A ring written before signing keys existed simply has none of this kind, and loads.

Key ids are unique across kinds, because a token's ``kid`` and a ciphertext's key id must
never be ambiguous.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from twostep.errors import KeyringError
from twostep.security.secret import SecretBytes

FORMAT = "twostep-keyring"
VERSION = 1
KIND_AES_GCM = "aes-256-gcm"
KIND_ED25519 = "eddsa-ed25519"
KINDS = (KIND_AES_GCM, KIND_ED25519)

_TOP_FIELDS = frozenset({"format", "version", "pepper", "primary", "keys"})
_KEY_FIELDS = frozenset({"id", "kind", "secret"})
_B64URL = re.compile(r"[A-Za-z0-9_-]*")


@dataclass(frozen=True, slots=True)
class KeyEntry:
    """One key of a keyring file, as stored."""

    id: str
    kind: str
    secret: SecretBytes


@dataclass(frozen=True, slots=True)
class KeyringDocument:
    """A parsed keyring file. Structure is checked here; key semantics by the keyring."""

    pepper: SecretBytes
    primary: Mapping[str, str]
    keys: tuple[KeyEntry, ...]


def b64url_encode(data: bytes) -> str:
    """Unpadded base64url, as in JWK."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str, where: str) -> bytes:
    """Strict unpadded base64url: any other character is an error, not silently skipped."""
    if not _B64URL.fullmatch(text) or len(text) % 4 == 1:
        raise KeyringError(f"keyring: {where} is not unpadded base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise KeyringError(f"keyring: {where} is not unpadded base64url") from None


def _no_duplicate_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for name, value in pairs:
        if name in result:
            raise KeyringError(f"keyring: member {name!r} appears twice in one object")
        result[name] = value
    return result


def _object(value: object, where: str, fields: frozenset[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise KeyringError(f"keyring: {where} must be a JSON object")
    missing = sorted(fields - value.keys())
    if missing:
        raise KeyringError(f"keyring: {where} lacks {', '.join(missing)}")
    unknown = sorted(value.keys() - fields)
    if unknown:
        raise KeyringError(f"keyring: {where} has unknown field(s) {', '.join(unknown)}")
    return value


def _string(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise KeyringError(f"keyring: {where} must be a string")
    return value


def parse(text: str) -> KeyringDocument:
    """Parse a keyring document, raising :class:`KeyringError` for anything malformed."""
    try:
        raw = json.loads(text, object_pairs_hook=_no_duplicate_members)
    except json.JSONDecodeError as exc:
        # The message names a line and column only, never the document's content.
        raise KeyringError(f"keyring: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    top = _object(raw, "the document", _TOP_FIELDS)
    if top["format"] != FORMAT:
        raise KeyringError(f"keyring: format must be {FORMAT!r}")
    version = top["version"]
    if type(version) is not int or version != VERSION:
        raise KeyringError(f"keyring: unsupported version {version!r} (this build reads {VERSION})")
    pepper = b64url_decode(_string(top["pepper"], "pepper"), "pepper")

    entries = top["keys"]
    if not isinstance(entries, list) or not entries:
        raise KeyringError("keyring: keys must be a non-empty list")
    keys: list[KeyEntry] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        where = f"keys[{index}]"
        fields = _object(entry, where, _KEY_FIELDS)
        key_id = _string(fields["id"], f"{where}.id")
        kind = _string(fields["kind"], f"{where}.kind")
        if kind not in KINDS:
            raise KeyringError(
                f"keyring: {where} has unsupported kind {kind!r} (known: {', '.join(KINDS)})"
            )
        if key_id in seen:
            raise KeyringError(f"keyring: duplicate key id {key_id!r}")
        seen.add(key_id)
        secret = b64url_decode(_string(fields["secret"], f"{where}.secret"), f"{where}.secret")
        keys.append(KeyEntry(key_id, kind, SecretBytes(secret)))

    primary = top["primary"]
    if not isinstance(primary, dict):
        raise KeyringError("keyring: primary must be an object mapping key kind to key id")
    for kind, key_id in primary.items():
        if kind not in KINDS:
            raise KeyringError(f"keyring: primary names unsupported kind {kind!r}")
        _string(key_id, f"primary[{kind!r}]")
        if not any(k.id == key_id and k.kind == kind for k in keys):
            raise KeyringError(f"keyring: primary {kind} key {key_id!r} is not among the keys")
    unnamed = sorted({k.kind for k in keys} - primary.keys())
    if unnamed:
        raise KeyringError(f"keyring: no primary key named for kind {unnamed[0]!r}")
    return KeyringDocument(SecretBytes(pepper), dict(primary), tuple(keys))


def dump(document: KeyringDocument) -> str:
    """Render a keyring document as version-1 JSON text."""
    doc = {
        "format": FORMAT,
        "version": VERSION,
        "pepper": b64url_encode(document.pepper.reveal()),
        "primary": dict(document.primary),
        "keys": [
            {"id": k.id, "kind": k.kind, "secret": b64url_encode(k.secret.reveal())}
            for k in document.keys
        ],
    }
    return json.dumps(doc, indent=2) + "\n"


def read_source(source: str | os.PathLike[str]) -> str:
    """A keyring document given inline (text starting with ``{``) or as a file path."""
    if isinstance(source, str) and source.lstrip().startswith("{"):
        return source
    path = Path(source)
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise KeyringError(f"keyring file {str(path)!r} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "it is not UTF-8 text"
        raise KeyringError(f"cannot read keyring file {str(path)!r}: {reason}") from None


def write_private(path: Path, text: str, *, overwrite: bool) -> None:
    """Write ``text`` to ``path`` atomically, mode 0600 from creation.

    The data goes to a temporary file in the same directory (``mkstemp`` creates it 0600), is
    flushed to disk, then linked into place: ``os.link`` refuses an existing target atomically,
    ``os.replace`` swaps one in atomically when ``overwrite`` is set.
    """
    directory = path.parent
    try:
        fd, tmp_name = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise KeyringError(f"cannot write keyring file {str(path)!r}: {exc.strerror}") from None
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            os.fchmod(handle.fileno(), 0o600)
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if overwrite:
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)
            except FileExistsError:
                raise KeyringError(
                    f"keyring file {str(path)!r} already exists; pass overwrite=True to replace it"
                ) from None
    except OSError as exc:
        raise KeyringError(f"cannot write keyring file {str(path)!r}: {exc.strerror}") from None
    finally:
        tmp.unlink(missing_ok=True)
    _fsync_directory(directory)


def _fsync_directory(directory: Path) -> None:
    """Make the new directory entry durable (best effort: not every platform allows it)."""
    try:
        dir_fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)
