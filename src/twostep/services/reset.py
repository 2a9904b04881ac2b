"""Password reset: an emailed link, plus the second factor when the account has one.

DESIGN §4.8. The token is 256 random bits, stored only as a keyed hash, single-use, and
valid ``reset_token_minutes`` (60); only the newest link of an account works. The link is
built from the configured public URL, never from a request's Host header. A reset never
bypasses 2FA: with an active device, a TOTP or backup code is required (checked with the
per-account lockout), and a missing or wrong code leaves the token unused. A completed
reset revokes every session and bumps ``token_version``.

No enumeration (§4.6): :func:`request_reset` returns ``None`` for every address after the
same work; only an active account gets mail. Requests for one address within
``email_code_cooldown_seconds`` are answered alike and send nothing more (against mail
bombing); the earlier link keeps working.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from twostep.errors import InvalidInput, ResetLinkInvalid
from twostep.mail import EventContext, Message
from twostep.security import keyed_hash, new_token
from twostep.services import (
    assertions,
    audit,
    factors,
    lockout,
    login,
    password_policy,
    remembered,
    sessions,
)
from twostep.services import webauthn as keys
from twostep.services.context import Context, Origin
from twostep.services.identity import email_hash, normalize_email
from twostep.store import (
    Refusal,
    Tx,
    backup_codes,
    challenges,
    devices,
    reset_tokens,
    throttles,
    users,
)
from twostep.store import webauthn as key_store


@dataclass(frozen=True, slots=True)
class ResetInfo:
    """What the reset page must ask for: a code when the account has a device."""

    requires_code: bool
    methods: tuple[str, ...]


def token_hash(ctx: Context, token: str) -> str:
    """The stored form of a reset token."""
    return keyed_hash(ctx.keyring.pepper, f"reset:{token.strip()}")


def request_reset(ctx: Context, email: str, origin: Origin) -> None:
    """Mail a reset link to the account at ``email``, if there is an active one.

    Every address ends with one hand-off to :meth:`Context.send` (``None`` when nothing is
    sent); the web app's mail queue sends after the answer, so the answer is as quick.
    """
    normalized = normalize_email(email)
    at = ctx.clock.now()
    token = new_token()
    hashed = token_hash(ctx, token)
    link = f"{ctx.settings.public_url.rstrip('/')}/reset-password?token={token}"
    minutes = ctx.settings.reset_token_minutes
    event = EventContext(at=at, ip=origin.ip, user_agent=origin.user_agent)
    message: Message | None = ctx.messages.password_reset(
        normalized, link, expires_minutes=minutes, event=event
    )
    with ctx.db.transaction() as tx:
        user = users.get_by_email(tx, normalized)
        cooling = _cooldown(tx, ctx, normalized, at)
        if user is None or not user.is_active or cooling:
            message = None
            reason = "cooldown" if cooling else "no_account"
        else:
            reset_tokens.invalidate_all(tx, user.id, at)
            reset_tokens.create(
                tx, user_id=user.id, token_hash=hashed, at=at,
                expires_at=at + timedelta(minutes=minutes),
            )  # fmt: skip
            reason = "sent"
        audit.record(
            tx, "password.reset_requested", "success" if message else "info", at=at,
            origin=origin, user_id=user.id if user is not None else None,
            details={"result": reason},
        )  # fmt: skip
    ctx.send(message)  # None for nobody: the same hand-off, so the same time to answer


def _cooldown(tx: Tx, ctx: Context, email: str, at: datetime) -> bool:
    """True while an earlier request for ``email`` is cooling down; starts one otherwise."""
    seconds = ctx.settings.email_code_cooldown_seconds
    if seconds == 0:
        return False
    key = f"reset_send:{email_hash(ctx.keyring.pepper, email)}"
    if lockout.locked_for(tx, key, at):
        return True
    throttles.register_failure(tx, key, at, 1, seconds, max_lock_seconds=seconds)
    return False


def reset_status(ctx: Context, token: str) -> ResetInfo:
    """Whether the reset page must ask for a code; :class:`ResetLinkInvalid` for a dead token."""
    at = ctx.clock.now()
    with ctx.db.transaction(readonly=True) as tx:
        user = _token_owner(tx, ctx, token, at)
        if user is None:
            raise ResetLinkInvalid()
        return _info(tx, user)


def key_options(ctx: Context, token: str, origin: Origin) -> keys.Ceremony | None:
    """Options for answering a reset with a security key (``None`` without a key).

    The challenge belongs to the token's owner, not to a session (there is none yet); it
    is used up by the reset's first answer, right or wrong.
    """
    at = ctx.clock.now()
    with ctx.db.transaction() as tx:
        user = _token_owner(tx, ctx, token, at)
        found = key_store.list_for_user(tx, user.id) if user is not None else []
        if user is None or not found or not _factor_protected(tx, user):
            return None
        challenge = challenges.create(
            tx, user_id=user.id, purpose=keys.RESET, methods=[keys.METHOD], at=at,
            expires_at=at + timedelta(seconds=ctx.settings.challenge_seconds),
            ip=origin.ip, user_agent=origin.user_agent,
        )  # fmt: skip
    return keys.Ceremony(challenge.id, keys.assertion_options(ctx, "reset", challenge.id, found))


def _check_factor(
    tx: Tx, ctx: Context, user: users.User, code: str | None, backup_code: str | None,
    webauthn: Mapping[str, Any] | None, at: datetime, origin: Origin,
) -> str:  # fmt: skip
    """The method of the factor a reset proved (a code, a backup code or a key)."""
    if webauthn is None:
        return factors.check(
            tx, ctx, user, code=code, backup_code=backup_code, at=at, origin=origin,
            purpose="reset",
        ).method  # fmt: skip
    if code is not None or backup_code is not None:
        raise InvalidInput("code", "Send one of a code, a backup code or a security key.")
    found = challenges.open_for_user(tx, user.id, keys.RESET, at)
    expected = keys.use_matching(tx, ctx, found, webauthn, at, "reset")
    proof = assertions.check(
        tx, ctx, user, webauthn, expected_challenge=expected, at=at, origin=origin,
        purpose="reset",
    )  # fmt: skip
    return proof.method


def _token_owner(tx: Tx, ctx: Context, token: str, at: datetime) -> users.User | None:
    stored = reset_tokens.get_valid(tx, token_hash(ctx, token), at) if token.strip() else None
    user = users.get(tx, stored.user_id) if stored is not None else None
    return user if user is not None and user.is_active else None


def _info(tx: Tx, user: users.User) -> ResetInfo:
    if not _factor_protected(tx, user):
        return ResetInfo(requires_code=False, methods=())
    user_id = user.id
    methods = keys.factor_methods(tx, user_id)  # totp and/or webauthn
    if backup_codes.status(tx, user_id).remaining:
        methods.append(login.METHOD_BACKUP)
    return ResetInfo(requires_code=True, methods=tuple(methods))


def complete_reset(
    ctx: Context,
    token: str,
    new_password: str,
    origin: Origin,
    *,
    code: str | None = None,
    backup_code: str | None = None,
    webauthn: Mapping[str, Any] | None = None,
) -> sessions.IssuedSession | None:
    """Set a new password with the emailed token (and a factor when the account has 2FA).

    ``webauthn`` is a security key's answer to :func:`key_options` (instead of a code).

    Order: token → factor present → policy → hash (no transaction open) → factor check →
    consume the token. A refused factor commits its failure count but not the token, so the
    owner can retry; a lost race for the token rolls the factor back with it.

    A reset that proved a second factor (link + code) signs the owner in: every earlier
    session ends, and a new one starts with ``amr`` ``["email", <method>]``, elevated like
    any sign-in with a second factor (§4.7). A reset by link alone (no device) returns
    ``None``: the owner signs in with the new password.
    """
    at = ctx.clock.now()
    with ctx.db.transaction(readonly=True) as tx:
        user = _token_owner(tx, ctx, token, at)
        info = _info(tx, user) if user is not None else None
    if user is None or info is None:
        _record(ctx, "failure", None, origin, reason="invalid_token")
        raise ResetLinkInvalid()
    if info.requires_code and code is None and backup_code is None and webauthn is None:
        _record(ctx, "denied", user.id, origin, reason="factor_missing")
        raise InvalidInput("code", "Enter a code from your authenticator app or a backup code.")
    password_policy.check(new_password, email=user.email)
    new_hash = ctx.passwords.hash(new_password)

    at = ctx.clock.now()
    issued: sessions.IssuedSession | None = None
    try:
        with ctx.db.transaction() as tx:
            method = "none"
            if _factor_protected(tx, user):
                if code is None and backup_code is None and webauthn is None:  # added meanwhile
                    raise InvalidInput("code", "Enter a code from your authenticator app.")
                try:
                    method = _check_factor(tx, ctx, user, code, backup_code, webauthn, at, origin)
                except Refusal as refusal:  # the token stays unspent: the owner can retry
                    audit.record(
                        tx, "password.reset", "failure", at=at, origin=origin, user_id=user.id,
                        details={"reason": getattr(refusal.error, "code", "refused")},
                    )  # fmt: skip
                    raise
            if reset_tokens.consume(tx, token_hash(ctx, token), at) != user.id:
                raise ResetLinkInvalid()
            _apply(tx, ctx, user, new_hash, at, origin, method)
            if method != "none":
                issued = sessions.start(tx, ctx, user, amr=["email", method], at=at, origin=origin)
    except ResetLinkInvalid:
        _record(ctx, "failure", user.id, origin, reason="token_race")
        raise
    event = EventContext(at=at, ip=origin.ip, user_agent=origin.user_agent)
    ctx.send(ctx.messages.password_reset_done(user.email, event=event))
    return issued


def _apply(
    tx: Tx,
    ctx: Context,
    user: users.User,
    new_hash: str,
    at: datetime,
    origin: Origin,
    method: str,
) -> None:
    """Inside ``tx``: the new password takes over and everything issued before it ends."""
    users.set_password_hash(tx, user.id, new_hash)
    if user.email_verified_at is None:
        # The link proved control of the address: its owner takes the account over, and
        # whatever anyone set up before the address was owned is discarded (§4.13).
        users.set_email_verified(tx, user.id, at)
        discarded = devices.delete_all_for_user(tx, user.id)
        discarded += key_store.delete_all_for_user(tx, user.id)
        backup_codes.delete_all(tx, user.id)
        audit.record(
            tx, "account.reclaimed", "info", at=at, origin=origin, user_id=user.id,
            details={"devices_discarded": discarded},
        )  # fmt: skip
    reset_tokens.invalidate_all(tx, user.id, at)
    sessions.revoke_all(tx, user.id, at, origin)
    remembered.forget_all_in(tx, user.id, at, origin, reason="password_reset")
    users.bump_token_version(tx, user.id)
    password_key = lockout.password_key(email_hash(ctx.keyring.pepper, user.email))
    lockout.succeed(tx, password_key)
    audit.record(
        tx, "password.reset", "success", at=at, origin=origin, user_id=user.id,
        details={"method": method},
    )  # fmt: skip


def _factor_protected(tx: Tx, user: users.User) -> bool:
    """A reset asks for a second factor only from a verified account that has one.

    An unverified account cannot enrol (§4.13); should an older one hold a device, it is not
    the owner's, and the reset link (proof of the address) discards it in :func:`_apply`.
    """
    return user.email_verified_at is not None and devices.count_active(tx, user.id) > 0


def _record(
    ctx: Context, outcome: audit.Outcome, user_id: str | None, origin: Origin, *, reason: str
) -> None:
    """Audit a refused reset in its own transaction (the attempt itself changed nothing)."""
    at = ctx.clock.now()
    with ctx.db.transaction() as tx:
        audit.record(
            tx, "password.reset", outcome, at=at, origin=origin, user_id=user_id,
            details={"reason": reason},
        )  # fmt: skip
