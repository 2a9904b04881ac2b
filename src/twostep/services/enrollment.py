"""Enrolling an authenticator: begin with a new secret, confirm with the first code.

A device is pending until its first code is confirmed; only active devices count as a
second factor. The confirming step is burned (``last_used_step``), so the same code cannot
then be used to sign in. Adding a device while one is active needs an elevated session. On
the first device, backup codes are created and returned once, and a session limited to
enrollment becomes a full one. Only an account whose address is verified may enrol (DESIGN
§4.13): otherwise whoever registered someone else's address first could bind a factor that
the real owner's password reset would then ask for.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from twostep.errors import InvalidInput, NotFound, VerificationRequired
from twostep.mail import EventContext
from twostep.otp.qr import qr_png, qr_svg
from twostep.otp.totp import TOTPParams
from twostep.otp.uri import OTPAuthURI
from twostep.services import audit, backup_codes, lockout, sessions
from twostep.services.context import Context, Origin
from twostep.services.factors import decrypt_secret, device_owner, refused_code
from twostep.store import Refusal, devices, new_id, users
from twostep.store import sessions as session_store

MAX_DEVICE_NAME = 64
DEFAULT_DEVICE_NAME = "Authenticator app"


@dataclass(frozen=True, slots=True)
class Enrollment:
    """What the user needs to add the key to an app: QR code, URI and the key itself."""

    device_id: str
    device_name: str
    secret: str = field(repr=False)
    otpauth_uri: str = field(repr=False)
    qr_svg: str = field(repr=False)
    qr_png: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class Confirmation:
    """A device became active; ``backup_codes`` is set (once) for the first device."""

    device_id: str
    backup_codes: list[str] | None = field(default=None, repr=False)


def clean_device_name(name: str | None) -> str:
    """A printable device name of 1–64 characters, or :class:`InvalidInput`."""
    cleaned = " ".join((name or "").split())
    if not cleaned:
        return DEFAULT_DEVICE_NAME
    if len(cleaned) > MAX_DEVICE_NAME or not cleaned.isprintable():
        raise InvalidInput("device_name", f"Use up to {MAX_DEVICE_NAME} printable characters.")
    return cleaned


def begin(
    ctx: Context, principal: sessions.Principal, device_name: str | None, origin: Origin
) -> Enrollment:
    """Create a pending device with a fresh secret; earlier pending devices are dropped."""
    name = clean_device_name(device_name)
    user = principal.user
    if user.email_verified_at is None:  # DESIGN §4.13: a squatter must not bind a factor
        raise VerificationRequired()
    at = ctx.clock.now()
    params = ctx.provider.params
    secret = ctx.provider.new_secret()
    device_id = new_id()
    sealed = ctx.keyring.encrypt(secret.encode("ascii"), owner=device_owner(device_id))
    with ctx.db.transaction() as tx:
        if devices.count_active(tx, user.id) > 0:
            sessions.require_full(principal)
            sessions.require_elevated(principal, at)
        for stale in devices.list_for_user(tx, user.id, status="pending"):
            devices.delete(tx, stale.id, user.id)
        devices.create_pending(
            tx,
            user_id=user.id,
            name=name,
            secret_ciphertext=sealed.ciphertext,
            key_id=sealed.key_id,
            at=at,
            algorithm=params.algorithm.upper(),  # type: ignore[arg-type]
            digits=params.digits,
            period=params.period,
            device_id=device_id,
        )
        audit.record(
            tx, "device.enroll_started", "success", at=at, origin=origin, user_id=user.id,
            details={"device_id": device_id},
        )  # fmt: skip
    return _enrollment(ctx, user.email, device_id, name, secret, params)


def _enrollment(
    ctx: Context, email: str, device_id: str, name: str, secret: str, params: TOTPParams
) -> Enrollment:
    uri = OTPAuthURI(
        type="totp",
        issuer=ctx.settings.issuer,
        account=email,
        secret=secret,
        algorithm=params.algorithm,
        digits=params.digits,
        period=params.period,
    ).to_uri()
    return Enrollment(device_id, name, secret, uri, qr_svg(uri), qr_png(uri))


def resume(ctx: Context, principal: sessions.Principal) -> Enrollment | None:
    """The caller's pending device as :func:`begin` made it (same secret), or ``None``.

    Reloading the setup page must not make a new secret: an entry the user already scanned
    would silently stop working. The pending secret stays until it is confirmed, or until
    the user starts over (:func:`begin` replaces it).
    """
    user = principal.user
    if user.email_verified_at is None:
        return None
    with ctx.db.transaction(readonly=True) as tx:
        pending = devices.list_for_user(tx, user.id, status="pending")
    if not pending:
        return None
    device = pending[-1]
    params = TOTPParams(device.algorithm.lower(), device.digits, device.period)  # type: ignore[arg-type]
    secret = decrypt_secret(ctx, device)
    return _enrollment(ctx, user.email, device.id, device.name, secret, params)


def confirm(
    ctx: Context, principal: sessions.Principal, device_id: str, code: str, origin: Origin
) -> Confirmation:
    """Activate a pending device with its first code."""
    user = principal.user
    if user.email_verified_at is None:
        raise VerificationRequired()
    at = ctx.clock.now()
    key = lockout.otp_key(user.id)
    with ctx.db.transaction() as tx:
        device = devices.get(tx, device_id, user_id=user.id)
        if device is None or device.status != "pending":
            raise NotFound("No pending device with this id.")
        first = devices.count_active(tx, user.id) == 0
        attempt = lockout.reserve(tx, key, at, lockout.LockoutPolicy.for_otp(ctx.settings))
        if not attempt.allowed:
            raise Refusal(attempt.refusal(at))
        step = ctx.provider.verify(decrypt_secret(ctx, device), code, at=at.timestamp())
        if step is None or not devices.confirm(tx, device.id, step=step, at=at):
            audit.record(
                tx, "device.confirm", "failure", at=at, origin=origin, user_id=user.id,
                details={"device_id": device.id},
            )  # fmt: skip
            if attempt.is_last:
                raise Refusal(attempt.refusal(at))
            raise Refusal(refused_code("otp", "wrong", attempts_left=attempt.attempts_left))
        lockout.succeed(tx, key)
        codes = backup_codes.issue_batch(tx, ctx, user.id, at) if first else None
        if user.must_enroll:  # an administrator's reset is answered
            users.set_two_factor_reset(tx, user.id, None)
        if principal.session.purpose != "full":
            session_store.set_purpose(tx, principal.session.id, "full", at)
        audit.record(
            tx, "device.confirm", "success", at=at, origin=origin, user_id=user.id,
            details={"device_id": device.id, "first_device": first},
        )  # fmt: skip
        result = Confirmation(device.id, codes)
    event = EventContext(at=at, ip=origin.ip, user_agent=origin.user_agent)
    if result.backup_codes is not None:
        ctx.send(ctx.messages.two_factor_enabled(user.email, event=event))
    else:
        ctx.send(ctx.messages.new_device(user.email, device_name=device.name, event=event))
    return result
