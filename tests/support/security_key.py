"""A software security key: the authenticator side of WebAuthn, built per the specification.

It makes what a browser would send: ``clientDataJSON``, the authenticator data (RP id hash,
flags, signature counter, attested credential data with a COSE P-256 key) in a ``none``
attestation object, and ES256 assertions over ``authenticatorData || SHA-256(clientData)``.
Every part can be bent on purpose (origin, RP id, user verification, counter, signature),
so the tests can show that the server refuses each one.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import struct
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

UP, UV, BE, BS, AT = 0x01, 0x04, 0x08, 0x10, 0x40


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SoftKey:
    """One credential on one authenticator, for ``rp_id`` at ``origin``."""

    def __init__(
        self, rp_id: str, origin: str, *, uv: bool = True, synced: bool = False,
        counter: bool = True,
    ) -> None:  # fmt: skip
        self.rp_id, self.origin, self.uv, self.synced = rp_id, origin, uv, synced
        self.keeps_counter = counter
        self.private = ec.generate_private_key(ec.SECP256R1())
        self.credential_id = os.urandom(32)
        self.sign_count = 0
        self.user_handle: str | None = None

    @property
    def id(self) -> str:
        return b64url(self.credential_id)

    def _flags(self, uv: bool | None, attested: bool = False) -> int:
        flags = UP | (UV if (self.uv if uv is None else uv) else 0)
        if self.synced:
            flags |= BE | BS
        return flags | (AT if attested else 0)

    def _client_data(self, kind: str, challenge: str, origin: str | None) -> bytes:
        data = {"type": kind, "challenge": challenge, "origin": origin or self.origin}
        return json.dumps({**data, "crossOrigin": False}).encode()

    def _cose_key(self) -> bytes:
        numbers = self.private.public_key().public_numbers()
        x, y = numbers.x.to_bytes(32, "big"), numbers.y.to_bytes(32, "big")
        return cbor2.dumps({1: 2, 3: -7, -1: 1, -2: x, -3: y})

    def create(
        self, options: dict[str, Any], *, origin: str | None = None, rp_id: str | None = None
    ) -> dict[str, Any]:
        """The browser's answer to ``navigator.credentials.create(options)``."""
        self.user_handle = options["user"]["id"]
        rp_hash = hashlib.sha256((rp_id or self.rp_id).encode()).digest()
        attested = (
            bytes(16) + struct.pack(">H", len(self.credential_id)) + self.credential_id
            + self._cose_key()
        )  # fmt: skip
        auth_data = (
            rp_hash + bytes([self._flags(None, attested=True)])
            + struct.pack(">I", self.sign_count) + attested
        )  # fmt: skip
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        client = self._client_data("webauthn.create", options["challenge"], origin)
        return {
            "id": self.id,
            "rawId": self.id,
            "type": "public-key",
            "response": {
                "clientDataJSON": b64url(client),
                "attestationObject": b64url(attestation),
                "transports": ["usb"],
            },
            "clientExtensionResults": {"credProps": {"rk": True}},
        }

    def get(
        self, options: dict[str, Any], *, origin: str | None = None, rp_id: str | None = None,
        uv: bool | None = None, sign_count: int | None = None, tamper: bool = False,
    ) -> dict[str, Any]:  # fmt: skip
        """The browser's answer to ``navigator.credentials.get(options)``."""
        if sign_count is not None:
            self.sign_count = sign_count
        elif self.keeps_counter:
            self.sign_count += 1
        rp_hash = hashlib.sha256((rp_id or self.rp_id).encode()).digest()
        auth_data = rp_hash + bytes([self._flags(uv)]) + struct.pack(">I", self.sign_count)
        client = self._client_data("webauthn.get", options["challenge"], origin)
        signed = auth_data + hashlib.sha256(client).digest()
        signature = self.private.sign(signed, ec.ECDSA(hashes.SHA256()))
        if tamper:
            signature = self.private.sign(signed + b"x", ec.ECDSA(hashes.SHA256()))
        response: dict[str, Any] = {
            "clientDataJSON": b64url(client),
            "authenticatorData": b64url(auth_data),
            "signature": b64url(signature),
        }
        if self.user_handle is not None:
            response["userHandle"] = self.user_handle
        return {"id": self.id, "rawId": self.id, "type": "public-key", "response": response}
