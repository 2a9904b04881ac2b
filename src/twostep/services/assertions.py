"""A security key's assertion checked as a second factor: at login, step-up and passkey sign-in.

:func:`check` is the WebAuthn counterpart of :func:`twostep.services.factors.check` and keeps
its invariants: the attempt is reserved on the account's factor lockout *before* anything is
verified (DESIGN §4.3), a locked account is refused even with a valid key, every outcome is
audited, and a refusal raises :class:`~twostep.store.Refusal` so the counted failure commits.
The key must belong to the account, answer the expected challenge for this relying party
and origin, carry a valid signature, and move its signature counter forward (a counter that
goes backwards is refused and audited as ``webauthn.counter``: a cloned key, or a replay).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import webauthn
from webauthn.helpers import parse_authenticator_data

from twostep.errors import InvalidCode, InvalidInput
from twostep.services import audit, lockout, sessions
from twostep.services.context import Context, Origin
from twostep.services.factors import Proof, locked
from twostep.services.webauthn import (
    ELEVATE,
    METHOD,
    REFUSED,
    Ceremony,
    assertion_options,
    expected_origin,
    rp_id,
    session_challenge,
    use_session_challenge,
)
from twostep.store import Refusal, Tx, users
from twostep.store import webauthn as store

NO_UV = "This passkey did not verify you (no PIN or fingerprint). Use one that asks for it."


def credential_id(credential: Mapping[str, Any]) -> str:
    """The base64url credential id the answer names; a malformed answer is invalid input."""
    raw = credential.get("rawId")
    if not isinstance(raw, str) or not raw or raw != credential.get("id"):
        raise InvalidInput("webauthn", "This is not a security key's answer.")
    return raw


def check(
    tx: Tx, ctx: Context, user: users.User, credential: Mapping[str, Any], *,
    expected_challenge: bytes, at: datetime, origin: Origin, purpose: str,
    require_user_verification: bool = False,
) -> Proof:  # fmt: skip
    """Accept one assertion by one of ``user``'s keys; else count the failure and refuse."""
    key = lockout.otp_key(user.id)
    attempt = lockout.reserve(tx, key, at, lockout.LockoutPolicy.for_otp(ctx.settings))
    if not attempt.allowed:
        audit.record(
            tx, f"{purpose}.factor", "denied", at=at, origin=origin, user_id=user.id,
            details={"reason": "locked", "method": METHOD},
        )  # fmt: skip
        raise Refusal(attempt.refusal(at))
    found = _verify(tx, ctx, user.id, credential, expected_challenge, at, require_user_verification)
    if isinstance(found, Proof):
        lockout.succeed(tx, key)
        audit.record(
            tx, f"{purpose}.factor", "success", at=at, origin=origin, user_id=user.id,
            details={"method": found.method, "device_id": found.device_id},
        )  # fmt: skip
        return found
    reason, device_id = found
    if reason == "counter":
        audit.record(
            tx, "webauthn.counter", "denied", at=at, origin=origin, user_id=user.id,
            details={"device_id": device_id},
        )  # fmt: skip
    audit.record(
        tx, f"{purpose}.factor", "failure", at=at, origin=origin, user_id=user.id,
        details={"method": METHOD, "failures": attempt.state.failures, "reason": reason},
    )  # fmt: skip
    if not attempt.is_last:
        message = NO_UV if reason == "no_user_verification" else REFUSED
        raise Refusal(InvalidCode(message, reason="wrong", attempts_left=attempt.attempts_left))
    locked(tx, ctx, user, attempt, at, origin)


def _verify(
    tx: Tx, ctx: Context, user_id: str, credential: Mapping[str, Any], expected: bytes,
    at: datetime, require_uv: bool,
) -> Proof | tuple[str, str | None]:  # fmt: skip
    """The proof, or ``(reason, device id)``: unknown_key, not_verified, counter, ..."""
    stored = store.get_by_credential_id(tx, credential_id(credential))
    if stored is None or stored.user_id != user_id:  # another user's key is an unknown one
        return "unknown_key", None
    if require_uv and not _user_verified(credential):
        return "no_user_verification", stored.id
    try:
        verified = webauthn.verify_authentication_response(
            credential=dict(credential), expected_challenge=expected, expected_rp_id=rp_id(ctx),
            expected_origin=expected_origin(ctx), credential_public_key=stored.public_key,
            credential_current_sign_count=0,  # judged below, so a regression is told apart
            require_user_verification=require_uv,
        )  # fmt: skip
    except Exception:  # noqa: BLE001 - every unverifiable answer is one refusal
        return "not_verified", stored.id
    count = verified.new_sign_count
    if (count > 0 or stored.sign_count > 0) and count <= stored.sign_count:
        return "counter", stored.id
    if not store.advance_sign_count(tx, stored.id, count, at):  # lost a race for this count
        return "counter", stored.id
    return Proof("swk" if verified.credential_backed_up else "hwk", device_id=stored.id)


def _user_verified(credential: Mapping[str, Any]) -> bool:
    try:
        raw = webauthn.base64url_to_bytes(credential["response"]["authenticatorData"])
        return bool(parse_authenticator_data(raw).flags.uv)
    except Exception:  # noqa: BLE001 - malformed: verification refuses it anyway
        return False


def elevate_options(ctx: Context, principal: sessions.Principal, origin: Origin) -> Ceremony:
    """Options for stepping up with a key: a challenge bound to the caller's session."""
    sessions.require_full(principal)
    at = ctx.clock.now()
    with ctx.db.transaction(readonly=True) as tx:
        found = store.list_for_user(tx, principal.user.id)
    if not found:
        raise InvalidInput("webauthn", "This account has no security key.")
    challenge_id = session_challenge(ctx, principal, ELEVATE, at, origin)
    return Ceremony(challenge_id, assertion_options(ctx, "elevate", challenge_id, found))


def check_step_up(
    tx: Tx, ctx: Context, principal: sessions.Principal, credential: Mapping[str, Any],
    at: datetime, origin: Origin,
) -> Proof:  # fmt: skip
    """A step-up by key: the session's own open challenge is used up, then :func:`check`."""
    expected = use_session_challenge(tx, ctx, principal, ELEVATE, credential, at, "elevate")
    return check(
        tx, ctx, principal.user, credential, expected_challenge=expected, at=at, origin=origin,
        purpose="elevate",
    )  # fmt: skip
