"""Security keys and passkeys as a second factor: registration, and checking an assertion.

The ceremonies themselves (CBOR, COSE keys, attestation, signatures) are py_webauthn's; this
module decides what is expected and keeps the invariants every factor keeps:

* the relying party id and the one accepted origin come from settings (``PUBLIC_URL``,
  ``WEBAUTHN_RP_ID``), never from the request;
* a challenge is single-use and short-lived: its bytes are an HMAC of a ``challenges`` row id
  under the pepper, so nothing but the row is stored; a login challenge is the login's own
  row, a registration or step-up challenge is a row bound to the session that asked for it;
* checking an assertion reserves an attempt on the account's factor lockout first, like a
  TOTP code (DESIGN §4.3), and a refusal commits the counted failure and its audit row;
* the signature counter only moves forward, in one conditional ``UPDATE``; a counter that
  goes backwards (a cloned key, or a replay) is refused and audited as such;
* only public data is stored, and the user handle is random (never the id or the address).

The ``amr`` of a proven key is ``hwk``, or ``swk`` when the authenticator says the key is
backed up (a synced passkey lives in a cloud keychain, not only in one device's hardware).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal
from urllib.parse import urlsplit

import webauthn
from webauthn.helpers import bytes_to_base64url, parse_client_data_json
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from twostep.errors import ChallengeExpired, InvalidCode, InvalidInput, VerificationRequired
from twostep.mail import EventContext
from twostep.services import audit, backup_codes, enrollment, sessions
from twostep.services.context import Context, Origin
from twostep.services.factors import send_after_commit
from twostep.store import Refusal, Tx, challenges, devices, users
from twostep.store import sessions as session_store
from twostep.store import webauthn as store

METHOD = "webauthn"
REGISTER = "webauthn_reg"
ELEVATE = "webauthn_elev"
RESET = "webauthn_reset"
DEFAULT_KEY_NAME = "Security key"
KeyMethod = Literal["hwk", "swk"]
REFUSED = "The security key's answer could not be verified. Try again."


@dataclass(frozen=True, slots=True)
class Ceremony:
    """Options for the browser (``navigator.credentials``) and the challenge they belong to."""

    challenge_id: str
    options: dict[str, Any]


@dataclass(frozen=True, slots=True)
class KeyAdded:
    """A registered key; backup codes come back once, when it is the first factor."""

    credential: store.Credential
    backup_codes: list[str] | None


def rp_id(ctx: Context) -> str:
    return ctx.settings.webauthn_rp_id_or_host


def expected_origin(ctx: Context) -> str:
    """The one origin a ceremony may come from: the scheme and host of ``PUBLIC_URL``."""
    parts = urlsplit(ctx.settings.public_url)
    return f"{parts.scheme}://{parts.netloc}"


def challenge_bytes(ctx: Context, kind: str, challenge_id: str) -> bytes:
    """The WebAuthn challenge of a stored challenge row: unguessable without the pepper."""
    message = f"webauthn:{kind}:{challenge_id}".encode()
    return hmac.new(ctx.keyring.pepper, message, hashlib.sha256).digest()


def options_dict(options: Any) -> dict[str, Any]:
    """py_webauthn's options as the JSON object a browser's ``PublicKeyCredential`` parses."""
    parsed: dict[str, Any] = json.loads(webauthn.options_to_json(options))
    return parsed


def descriptors(found: list[store.Credential]) -> list[PublicKeyCredentialDescriptor]:
    return [
        PublicKeyCredentialDescriptor(
            id=webauthn.base64url_to_bytes(cred.credential_id),
            transports=[AuthenticatorTransport(t) for t in cred.transports if _transport(t)],
        )
        for cred in found
    ]


def _transport(name: str) -> bool:
    return name in {t.value for t in AuthenticatorTransport}


def factor_methods(tx: Tx, user_id: str) -> list[str]:
    """The second-factor methods a login challenge offers: ``totp`` and/or ``webauthn``."""
    methods = ["totp"] if devices.count_totp(tx, user_id) else []
    if store.count_for_user(tx, user_id):
        methods.append(METHOD)
    return methods


def _timeout(ctx: Context) -> int:
    return ctx.settings.challenge_seconds * 1000


def assertion_options(
    ctx: Context, kind: str, challenge_id: str, found: list[store.Credential]
) -> dict[str, Any]:
    """``PublicKeyCredentialRequestOptions`` for the user's keys and this challenge."""
    options = webauthn.generate_authentication_options(
        rp_id=rp_id(ctx),
        challenge=challenge_bytes(ctx, kind, challenge_id),
        timeout=_timeout(ctx),
        allow_credentials=descriptors(found),
        user_verification=UserVerificationRequirement.PREFERRED,
    )
    return options_dict(options)


def login_options(ctx: Context, challenge_id: str) -> dict[str, Any] | None:
    """The options for answering a live login challenge with a key; ``None`` without keys."""
    return login_choices(ctx, challenge_id)[1]


def login_choices(ctx: Context, challenge_id: str) -> tuple[tuple[str, ...], dict[str, Any] | None]:
    """A live login challenge's methods, and the key options when ``webauthn`` is one."""
    at = ctx.clock.now()
    with ctx.db.transaction(readonly=True) as tx:
        challenge = challenges.get(tx, challenge_id)
        if challenge is None or challenge.purpose != "login" or not challenge.is_open(at):
            return (), None
        found = store.list_for_user(tx, challenge.user_id)
    options = assertion_options(ctx, "login", challenge_id, found) if found else None
    return challenge.methods, options


def session_challenge(
    ctx: Context, principal: sessions.Principal, purpose: str, at: datetime, origin: Origin
) -> str:
    """Open a challenge bound to the caller's session (registration, step-up) inside a tx."""
    with ctx.db.transaction() as tx:
        challenge = challenges.create(
            tx, user_id=principal.user.id, purpose=purpose, methods=[METHOD], at=at,
            expires_at=at + timedelta(seconds=ctx.settings.challenge_seconds),
            session_id=principal.session.id, ip=origin.ip, user_agent=origin.user_agent,
        )  # fmt: skip
    return challenge.id


def use_session_challenge(
    tx: Tx, ctx: Context, principal: sessions.Principal, purpose: str,
    credential: Mapping[str, Any], at: datetime, kind: str,
) -> bytes:  # fmt: skip
    """Use up the caller's open challenge that ``credential`` answers; its bytes.

    The challenge named in the client data is matched (in constant time) against the
    session's open challenges of ``purpose``; none matching is an expired ceremony.
    """
    found = challenges.open_for_session(tx, principal.session.id, purpose, at)
    return use_matching(tx, ctx, found, credential, at, kind)


def use_matching(
    tx: Tx, ctx: Context, found: list[challenges.Challenge], credential: Mapping[str, Any],
    at: datetime, kind: str,
) -> bytes:  # fmt: skip
    """Use up the one of ``found`` that ``credential`` answers; its bytes, or expired."""
    answered = client_challenge(credential)
    for challenge in found:
        expected = challenge_bytes(ctx, kind, challenge.id)
        if hmac.compare_digest(expected, answered) and challenges.complete(tx, challenge.id, at):
            return expected
    raise ChallengeExpired("This security key request has expired. Please try again.")


def client_challenge(credential: Mapping[str, Any]) -> bytes:
    """The challenge the browser signed, read from ``clientDataJSON`` (not yet trusted)."""
    try:
        raw = webauthn.base64url_to_bytes(credential["response"]["clientDataJSON"])
        return parse_client_data_json(raw).challenge
    except Exception:  # noqa: BLE001 - any malformed answer is the same refusal
        raise InvalidInput("webauthn", "This is not a security key's answer.") from None


def registration_options(ctx: Context, principal: sessions.Principal, origin: Origin) -> Ceremony:
    """Start adding a key: elevated when the account has a factor, like adding an app."""
    user = principal.user
    if user.email_verified_at is None:  # DESIGN §4.13, as for an authenticator app
        raise VerificationRequired()
    at = ctx.clock.now()
    with ctx.db.transaction() as tx:
        if devices.count_active(tx, user.id) > 0:
            sessions.require_full(principal)
            sessions.require_elevated(principal, at)
        fresh = bytes_to_base64url(secrets.token_bytes(32))
        handle = store.user_handle(tx, user.id, new_handle=fresh, at=at)
        found = store.list_for_user(tx, user.id)
    challenge_id = session_challenge(ctx, principal, REGISTER, at, origin)
    options = webauthn.generate_registration_options(
        rp_id=rp_id(ctx),
        rp_name=ctx.settings.issuer,
        user_name=user.email,
        user_id=webauthn.base64url_to_bytes(handle),
        challenge=challenge_bytes(ctx, "register", challenge_id),
        timeout=_timeout(ctx),
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED,
            user_verification=UserVerificationRequirement.PREFERRED,
        ),
        exclude_credentials=descriptors(found),
    )
    result = options_dict(options)
    result["extensions"] = {"credProps": True}
    return Ceremony(challenge_id, result)


def register(
    ctx: Context, principal: sessions.Principal, credential: Mapping[str, Any], name: str | None,
    origin: Origin,
) -> KeyAdded:  # fmt: skip
    """Verify the browser's answer to :func:`registration_options` and store the key."""
    user = principal.user
    if user.email_verified_at is None:
        raise VerificationRequired()
    cleaned = enrollment.clean_device_name(name) if name and name.strip() else DEFAULT_KEY_NAME
    at = ctx.clock.now()
    with ctx.db.transaction() as tx:
        if users.get(tx, user.id, for_update=True) is None:  # serialise factor changes
            raise ChallengeExpired()
        expected = use_session_challenge(tx, ctx, principal, REGISTER, credential, at, "register")
        try:
            verified = webauthn.verify_registration_response(
                credential=dict(credential), expected_challenge=expected,
                expected_rp_id=rp_id(ctx), expected_origin=expected_origin(ctx),
            )  # fmt: skip
        except Exception as exc:  # noqa: BLE001 - every unverifiable answer is one refusal
            audit.record(
                tx, "webauthn.registered", "failure", at=at, origin=origin, user_id=user.id,
                details={"reason": type(exc).__name__},
            )  # fmt: skip
            raise Refusal(InvalidCode(REFUSED, reason="wrong")) from None
        first = devices.count_active(tx, user.id) == 0
        stored = store.create(
            tx, user_id=user.id, credential_id=bytes_to_base64url(verified.credential_id),
            public_key=verified.credential_public_key, sign_count=verified.sign_count,
            transports=_transports(credential), name=cleaned, aaguid=verified.aaguid,
            backed_up=verified.credential_backed_up, discoverable=_resident(credential), at=at,
        )  # fmt: skip
        if stored is None:
            raise Refusal(InvalidInput("webauthn", "This security key is registered already."))
        codes = backup_codes.issue_batch(tx, ctx, user.id, at) if first else None
        if user.must_enroll:
            users.set_two_factor_reset(tx, user.id, None)
        if principal.session.purpose != "full":
            session_store.set_purpose(tx, principal.session.id, "full", at)
        audit.record(
            tx, "webauthn.registered", "success", at=at, origin=origin, user_id=user.id,
            details={"device_id": stored.id, "first_device": first, "backed_up": stored.backed_up},
        )  # fmt: skip
        event = EventContext(at=at, ip=origin.ip, user_agent=origin.user_agent)
        message = (
            ctx.messages.two_factor_enabled(user.email, event=event)
            if first
            else ctx.messages.new_device(user.email, device_name=cleaned, event=event)
        )
        send_after_commit(tx, ctx, message)
    return KeyAdded(stored, codes)


def _transports(credential: Mapping[str, Any]) -> list[str]:
    found = credential.get("response", {}).get("transports") or []
    return [t for t in found if isinstance(t, str) and _transport(t)][:8]


def _resident(credential: Mapping[str, Any]) -> bool | None:
    props = (credential.get("clientExtensionResults") or {}).get("credProps") or {}
    rk = props.get("rk") if isinstance(props, Mapping) else None
    return rk if isinstance(rk, bool) else None
