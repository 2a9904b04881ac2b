"""Verification keys: the JWKS a signer publishes, and keys that outlive a rotation."""

from __future__ import annotations

import json

from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tests.security.tokens.support import AUD, ISS, T, issue, rejects
from twostep.security import Keyring
from twostep.security.keyfile import b64url_encode
from twostep.security.tokens import StaticKeys, TokenSigner, TokenVerifier


def test_jwks_publishes_every_public_key_and_verifies(signer: TokenSigner, ring: Keyring) -> None:
    jwks = signer.jwks()
    [key] = jwks["keys"]
    public = ring.public_signing_keys()[key["kid"]]
    raw = public.public_bytes(Encoding.Raw, PublicFormat.Raw)
    assert key == {
        "kty": "OKP", "crv": "Ed25519", "x": b64url_encode(raw), "kid": ring.signing_key_id,
        "alg": "EdDSA", "use": "sig",
    }  # fmt: skip
    verifier = TokenVerifier(
        StaticKeys.from_jwks(json.loads(json.dumps(jwks))), issuer=ISS, audience=AUD
    )
    assert verifier.verify(issue(signer), now=T).sub == "user-1"


def test_a_token_signed_before_rotation_still_verifies(ring: Keyring, signer: TokenSigner) -> None:
    old_token = issue(signer)
    rotated = ring.rotated()
    new_signer = TokenSigner.ed25519(rotated, issuer=ISS, audience=AUD)
    assert new_signer.kid == rotated.signing_key_id != ring.signing_key_id
    jwks = StaticKeys.from_jwks(new_signer.jwks())
    assert [key.kid for key in jwks] == [ring.signing_key_id, rotated.signing_key_id]
    for verifier in (new_signer.verifier(), TokenVerifier(jwks, issuer=ISS, audience=AUD)):
        assert verifier.verify(old_token, now=T).sub == "user-1"
        assert verifier.verify(issue(new_signer), now=T).sub == "user-1"
    assert ring.signing_key_id is not None
    after = TokenVerifier(
        StaticKeys.from_keyring(rotated.retired(ring.signing_key_id)), issuer=ISS, audience=AUD
    )
    rejects(after, old_token, "unknown key id")
