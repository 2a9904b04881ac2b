"""A signing keyring, and a signer and a verifier on it, shared by each token test module."""

from __future__ import annotations

import pytest

from tests.security.tokens.support import AUD, ISS
from twostep.security import Keyring
from twostep.security.tokens import StaticKeys, TokenSigner, TokenVerifier


@pytest.fixture(scope="module")
def ring() -> Keyring:
    return Keyring.generate(signing=True)


@pytest.fixture(scope="module")
def signer(ring: Keyring) -> TokenSigner:
    return TokenSigner.ed25519(ring, issuer=ISS, audience=AUD)


@pytest.fixture(scope="module")
def verifier(ring: Keyring) -> TokenVerifier:
    return TokenVerifier(StaticKeys.from_keyring(ring), issuer=ISS, audience=AUD)
