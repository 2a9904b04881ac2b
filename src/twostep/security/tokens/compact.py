"""The JWS compact form of an access token, parsed once and built once.

A token is three base64url segments, ``header.payload.signature``, signed over
``header.payload``. :func:`parse` splits and decodes it a single time (PyJWT decodes the header
once to find the key and again to verify, and checks the alphabet character by character in
Python: more than half of a verification's CPU on the step-up path). :func:`sign` builds a
token from a header segment encoded once per signer. Both are checked against PyJWT in the
tests, in both directions, so the wire format stays plain RFC 7515/7519.

Which key and which algorithm verify the signature is the verifier's decision
(:mod:`~twostep.security.tokens.verifier`); :func:`signature_matches` only applies it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from twostep.errors import InvalidToken
from twostep.security.tokens.keys import Algorithm, VerificationKey

_SEGMENT = re.compile(rb"[A-Za-z0-9_-]*")


@dataclass(frozen=True, slots=True)
class Parsed:
    """A token split and decoded; nothing in it is trusted until the signature matches."""

    header: dict[str, Any]
    signing_input: bytes
    payload_segment: bytes
    signature: bytes

    def payload(self) -> dict[str, Any]:
        """The claims object (call only once the signature matched)."""
        payload = _json_object(decode_segment(self.payload_segment))
        if payload is None:
            raise InvalidToken("the token payload is malformed")
        return payload


def encode_segment(data: bytes) -> bytes:
    """Unpadded base64url (RFC 7515 §2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def decode_segment(segment: bytes) -> bytes:
    """The bytes of a canonical unpadded base64url segment; :class:`InvalidToken` otherwise.

    Non-canonical spellings (stray low bits in the last character) are refused, so one
    token has one spelling.
    """
    if len(segment) % 4 == 1 or _SEGMENT.fullmatch(segment) is None:
        raise InvalidToken("the token is malformed")
    try:
        data = base64.urlsafe_b64decode(segment + b"=" * (-len(segment) % 4))
    except (binascii.Error, ValueError):  # pragma: no cover - the pattern admits none
        raise InvalidToken("the token is malformed") from None
    if encode_segment(data) != segment:
        raise InvalidToken("the token is malformed")
    return data


def json_segment(value: dict[str, Any]) -> bytes:
    """``value`` as compact JSON, base64url-encoded."""
    return encode_segment(json.dumps(value, separators=(",", ":")).encode())


def parse(token: str) -> Parsed:
    """Split and decode ``token`` (at most ``max_chars`` long is the caller's check)."""
    try:
        raw = token.encode("ascii")
    except UnicodeEncodeError:
        raise InvalidToken("the token is malformed") from None
    parts = raw.split(b".")
    if len(parts) != 3:
        raise InvalidToken("the token is malformed")
    header_segment, payload_segment, signature_segment = parts
    header = _json_object(decode_segment(header_segment))
    if header is None:
        raise InvalidToken("the token is malformed")
    signature = decode_segment(signature_segment)
    signing_input = raw[: len(header_segment) + 1 + len(payload_segment)]
    return Parsed(header, signing_input, payload_segment, signature)


def signature_matches(key: VerificationKey, signing_input: bytes, signature: bytes) -> bool:
    """Whether ``signature`` over ``signing_input`` verifies under ``key``'s one algorithm."""
    if key.algorithm == "EdDSA" and isinstance(key.key, Ed25519PublicKey):
        try:
            key.key.verify(signature, signing_input)
        except InvalidSignature:
            return False
        return True
    if key.algorithm == "HS256" and isinstance(key.key, bytes):
        expected = hmac.new(key.key, signing_input, hashlib.sha256).digest()
        return hmac.compare_digest(expected, signature)
    return False


def sign(algorithm: Algorithm, private_key: Any, header_segment: bytes, payload: bytes) -> str:
    """``header.payload.signature`` for an encoded header segment and the payload's JSON."""
    signing_input = header_segment + b"." + encode_segment(payload)
    if algorithm == "EdDSA" and isinstance(private_key, Ed25519PrivateKey):
        signature = private_key.sign(signing_input)
    elif algorithm == "HS256" and isinstance(private_key, bytes):
        signature = hmac.new(private_key, signing_input, hashlib.sha256).digest()
    else:  # pragma: no cover - the signer's constructors pair them
        raise ValueError(f"no {algorithm} signing with a {type(private_key).__name__}")
    return (signing_input + b"." + encode_segment(signature)).decode("ascii")


def _json_object(data: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(data)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None
