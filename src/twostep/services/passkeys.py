"""Signing in with a passkey: no password, and it counts as two factors.

A discoverable credential that verified its user (PIN or biometric) proves possession of the
device and the user's verification by it: two factors, NIST SP 800-63B AAL2. The session's
``amr`` is ``["hwk", "mfa"]`` (``swk`` for a synced passkey), which proves a second factor.
A passkey that did not verify its user is refused: alone it would be one factor.

The challenge is opened before anyone is known (``passkey_challenges``) and used up by the
first answer, right or wrong; the key then names its account (user handle and credential
id, which must agree) and is checked like any security key, on that account's lockout
(:func:`twostep.services.assertions.check`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import webauthn
from webauthn.helpers.structs import UserVerificationRequirement

from twostep.errors import ChallengeExpired, InvalidCode
from twostep.services import assertions, audit, lockout, sessions
from twostep.services.context import Context, Origin
from twostep.services.identity import email_hash
from twostep.services.webauthn import Ceremony, challenge_bytes, options_dict, rp_id
from twostep.store import Refusal, users
from twostep.store import webauthn as store

UNKNOWN = "This passkey is not registered here. Sign in with your password instead."
MFA = "mfa"


def options(ctx: Context) -> Ceremony:
    """Options for ``navigator.credentials.get`` with any of this site's passkeys."""
    at = ctx.clock.now()
    expires = at + timedelta(seconds=ctx.settings.challenge_seconds)
    with ctx.db.transaction() as tx:
        challenge_id = store.create_passkey_challenge(tx, at=at, expires_at=expires)
    opts = webauthn.generate_authentication_options(
        rp_id=rp_id(ctx),
        challenge=challenge_bytes(ctx, "passkey", challenge_id),
        timeout=ctx.settings.challenge_seconds * 1000,
        user_verification=UserVerificationRequirement.REQUIRED,
    )
    return Ceremony(challenge_id, options_dict(opts))


def sign_in(
    ctx: Context, challenge_id: str, credential: Mapping[str, Any], origin: Origin
) -> sessions.IssuedSession:
    """A full session for the passkey's owner, or a refusal (the challenge is spent either way)."""
    cred_id = assertions.credential_id(credential)
    handle = (credential.get("response") or {}).get("userHandle")
    at = ctx.clock.now()
    with ctx.db.transaction() as tx:
        if not store.complete_passkey_challenge(tx, challenge_id, at):
            raise ChallengeExpired()
        stored = store.get_by_credential_id(tx, cred_id)
        user = users.get(tx, stored.user_id) if stored is not None else None
        owner = store.user_for_handle(tx, handle) if isinstance(handle, str) else None
        if stored is None or user is None or not user.is_active or owner != user.id:
            audit.record(
                tx, "login.passkey", "failure", at=at, origin=origin,
                user_id=user.id if user is not None else None,
                details={"reason": "unknown_key" if user is None else "not_allowed"},
            )  # fmt: skip
            raise Refusal(InvalidCode(UNKNOWN, reason="wrong"))
        proof = assertions.check(
            tx, ctx, user, credential, at=at, origin=origin, purpose="login",
            expected_challenge=challenge_bytes(ctx, "passkey", challenge_id),
            require_user_verification=True,
        )  # fmt: skip
        audit.record(
            tx, "login.passkey", "success", at=at, origin=origin, user_id=user.id,
            details={"device_id": proof.device_id},
        )  # fmt: skip
        issued = sessions.start(tx, ctx, user, amr=[proof.method, MFA], at=at, origin=origin)
        # Two factors proven: a password lock set by someone else ends here, as at login.
        lockout.succeed(tx, lockout.password_key(email_hash(ctx.keyring.pepper, user.email)))
        return issued
