"""Request and response bodies of the JSON API, and the one parser of JSON request bodies.

Every string has a length bound, so a 10 000-character "code" is a 422 before any service
runs; the services still normalise and refuse malformed values themselves. A body must be
UTF-8 JSON nested at most :data:`MAX_DEPTH` deep (checked before parsing, so a wall of
brackets never reaches the recursive parser).
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field, PlainValidator, StringConstraints, WithJsonSchema

from twostep.clock import as_utc

MAX_DEPTH = 32
_STRUCTURE = re.compile(rb'"(?:[^"\\]|\\.)*"|[][{}]')


def parse_json(body: bytes) -> Any:
    """``body`` parsed as JSON; :class:`json.JSONDecodeError` unless it is UTF-8 JSON nested
    at most :data:`MAX_DEPTH` deep.

    >>> parse_json(b'{"a": [1, "]]"]}')
    {'a': [1, ']]']}
    >>> parse_json(b"[" * 33 + b"]" * 33)
    Traceback (most recent call last):
    json.decoder.JSONDecodeError: nested deeper than 32 levels: line 1 column 33 (char 32)
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        doc = body.decode("utf-8", "replace")
        raise json.JSONDecodeError("not valid UTF-8", doc, exc.start) from None
    depth = 0
    for token in _STRUCTURE.finditer(body):
        char = token.group()
        if char in (b"[", b"{"):
            depth += 1
            if depth > MAX_DEPTH:
                raise json.JSONDecodeError(
                    f"nested deeper than {MAX_DEPTH} levels", text, token.start()
                )
        elif char in (b"]", b"}"):
            depth -= 1
    return json.loads(text)


PRINTABLE = r"^[^\x00-\x1f\x7f]*$"
"""No control character: NUL cannot be stored by PostgreSQL, and none belongs in an id."""
NO_NUL = r"^[^\x00]*$"


Email = Annotated[str, StringConstraints(min_length=3, max_length=320, pattern=PRINTABLE)]
Password = Annotated[str, StringConstraints(min_length=1, max_length=1024, pattern=NO_NUL)]
Code = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=PRINTABLE)]
OpaqueToken = Annotated[str, StringConstraints(min_length=1, max_length=512, pattern=PRINTABLE)]
Identifier = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=PRINTABLE)]
DeviceName = Annotated[str, StringConstraints(max_length=200, pattern=PRINTABLE)]

PathId = Annotated[str, Path(min_length=1, max_length=64, pattern=PRINTABLE)]
"""An id in a path: at most 64 characters, none of them a control character."""

_ZONED = re.compile(r"\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d(?::\d\d(?:\.\d{1,9})?)?(?:[Zz]|[+-]\d\d:\d\d)")


def _instant(value: object) -> datetime:
    """An ISO 8601 time with a zone, in UTC; past either end of the calendar, that end."""
    if isinstance(value, datetime):
        return as_utc(value)
    if not isinstance(value, str) or not _ZONED.fullmatch(value):
        raise ValueError("use an ISO 8601 time with a zone, like 2026-05-06T14:30:00Z")
    try:
        moment = datetime.fromisoformat(value.upper())
    except ValueError:
        raise ValueError("is not a valid time") from None
    return as_utc(moment)


Instant = Annotated[
    datetime,
    PlainValidator(_instant),
    WithJsonSchema(
        {
            "type": "string",
            "format": "date-time",
            "description": "An ISO 8601 (RFC 3339) time with a zone, e.g. 2026-05-06T14:30:00Z.",
        }
    ),
]
"""A query time: ISO 8601 *with* a zone (never a bare number), normalised to UTC."""


class Body(BaseModel):
    """Request bodies refuse unknown fields, so a typo is an error and not a silent no-op.

    They are strict: a boolean is ``true`` or ``false``, never ``0.0`` or ``"yes"``; a string
    is a string.
    """

    model_config = ConfigDict(extra="forbid", strict=True)


class Credentials(Body):
    email: Email
    password: Password


class LoginBody(Credentials):
    device_token: OpaqueToken | None = Field(
        default=None,
        description="A remembered browser's token (from `/auth/login/verify` with "
        "`remember_device`): while valid, the password completes the sign-in.",
    )


B64URL = Annotated[
    str, StringConstraints(min_length=1, max_length=16384, pattern=r"^[A-Za-z0-9_-]*={0,2}$")
]
"""Binary WebAuthn data, base64url-encoded as the browsers' ``toJSON()`` gives it."""
CredentialId = Annotated[
    str, StringConstraints(min_length=1, max_length=1400, pattern=r"^[A-Za-z0-9_-]*={0,2}$")
]


class AuthenticatorResponse(BaseModel):
    """``PublicKeyCredential.response`` as JSON: an attestation or an assertion."""

    model_config = ConfigDict(extra="ignore", strict=True)

    clientDataJSON: B64URL  # field names as WebAuthn spells them
    attestationObject: B64URL | None = None
    authenticatorData: B64URL | None = None
    signature: B64URL | None = None
    userHandle: B64URL | None = None
    transports: list[Annotated[str, StringConstraints(max_length=32)]] | None = Field(
        default=None, max_length=8
    )


class WebAuthnCredential(BaseModel):
    """A ``PublicKeyCredential`` as JSON (``credential.toJSON()`` in a browser)."""

    model_config = ConfigDict(extra="ignore", strict=True)

    id: CredentialId
    rawId: CredentialId
    type: Literal["public-key"]
    response: AuthenticatorResponse
    authenticatorAttachment: Annotated[str, StringConstraints(max_length=32)] | None = None
    clientExtensionResults: dict[str, Any] = Field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        """The credential as py_webauthn reads it."""
        return self.model_dump(exclude_none=True)


class FactorBody(Body):
    """Exactly one of ``code`` (authenticator) and ``backup_code``."""

    code: Code | None = None
    backup_code: Code | None = None


class ElevateBody(FactorBody):
    """A code, backup code or security key; or, without a second factor, the password."""

    password: Password | None = None
    webauthn: WebAuthnCredential | None = Field(
        default=None, description="A security key's answer to `/auth/elevate/options`."
    )


class LoginVerify(FactorBody):
    challenge_id: Identifier
    webauthn: WebAuthnCredential | None = Field(
        default=None, description="A security key's answer to the challenge's `webauthn_options`."
    )
    remember_device: bool = Field(
        default=False,
        description="Remember this device: the answer carries a `device_token` to send with "
        "the next `/auth/login` (for `REMEMBER_DAYS`).",
    )


class PasskeyVerify(Body):
    challenge_id: Identifier
    credential: WebAuthnCredential


class KeyRegistration(Body):
    credential: WebAuthnCredential
    name: DeviceName | None = None


class EmailVerify(Body):
    email: Email | None = None
    code: Code | None = None
    token: OpaqueToken | None = None
    password: Password | None = Field(
        default=None,
        description="The account's password; not needed with a bearer token of the account.",
    )


class EmailCodeRequest(Body):
    email: Email
    purpose: Literal["sign_in", "verify"] = "sign_in"


class EmailCodeVerify(EmailCodeRequest):
    code: Code


class RefreshBody(Body):
    refresh_token: OpaqueToken


class ForgotPassword(Body):
    email: Email


class ResetCheck(Body):
    token: OpaqueToken


class ResetPassword(FactorBody):
    token: OpaqueToken
    new_password: Password
    webauthn: WebAuthnCredential | None = Field(
        default=None, description="A security key's answer to the check's `webauthn_options`."
    )


class SetupBody(Body):
    device_name: DeviceName | None = None


class SetupConfirm(Body):
    device_id: Identifier
    code: Code


class RenameDevice(Body):
    name: Annotated[DeviceName, StringConstraints(min_length=1)]


class ChangePassword(Body):
    current_password: Password
    new_password: Password


class ChangeEmail(Body):
    new_email: Email
    password: Password | None = None


class ConfirmEmail(Body):
    new_email: Email
    code: Code


class SetRole(Body):
    role: Literal["user", "admin"]


class SetActive(Body):
    active: bool


# --- responses -----------------------------------------------------------------------------


class Out(BaseModel):
    """A response read from a service object's attributes as well as from a mapping."""

    model_config = ConfigDict(from_attributes=True)


class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int
    refresh_token: str | None = None
    requires_2fa: Literal[False] = False


class VerifiedTokenResponse(TokenResponse):
    device_token: str | None = Field(
        default=None, description="With `remember_device`: send it with the next `/auth/login`."
    )


class ChallengeResponse(BaseModel):
    requires_2fa: Literal[True] = True
    challenge_id: str
    methods: list[str]
    expires_in: int
    webauthn_options: dict[str, Any] | None = Field(
        default=None,
        description="With `webauthn` among `methods`: `PublicKeyCredentialRequestOptions` "
        "for `navigator.credentials.get`.",
    )


class WebAuthnOptions(BaseModel):
    challenge_id: str
    options: dict[str, Any] = Field(
        description="`PublicKeyCredentialCreationOptions` or `...RequestOptions` as JSON."
    )


class RememberedBrowser(Out):
    id: str
    user_agent: str | None
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None


class ElevationResponse(BaseModel):
    access_token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int
    elevated_until: datetime


class Registered(BaseModel):
    status: Literal["verification_sent"] = "verification_sent"
    expires_in: int


class Accepted(BaseModel):
    status: Literal["accepted"] = "accepted"


class CodeSent(BaseModel):
    expires_in: int
    resend_after: int


class Verified(BaseModel):
    verified: Literal[True] = True
    email: str


class ResetInfoResponse(BaseModel):
    requires_code: bool
    methods: list[str]
    webauthn_options: dict[str, Any] | None = Field(
        default=None,
        description="With `webauthn` among `methods`: request options for a security key "
        "(a single-use challenge for this reset).",
    )


class SetupResponse(BaseModel):
    device_id: str
    device_name: str
    secret: str
    otpauth_uri: str
    qr_svg: str
    qr_png: str = Field(description="A data: URI of the PNG image.")


class SetupConfirmed(BaseModel):
    device_id: str
    backup_codes: list[str] | None


class Device(Out):
    id: str
    name: str
    type: Literal["totp", "webauthn"] = "totp"
    status: str
    created_at: datetime
    confirmed_at: datetime | None
    last_used_at: datetime | None


class RegisteredKey(Device):
    backup_codes: list[str] | None = Field(
        default=None, description="Shown once, when the key is the account's first factor."
    )


class BackupStatusResponse(Out):
    remaining: int
    total: int
    created_at: datetime | None


class BackupCodes(BaseModel):
    backup_codes: list[str]


class Me(BaseModel):
    id: str
    email: str
    email_verified: bool
    role: str
    two_factor_enabled: bool
    session_id: str
    session_purpose: str
    elevated_until: datetime | None


class MySession(BaseModel):
    id: str
    current: bool
    amr: list[str]
    created_at: datetime
    last_seen_at: datetime | None
    expires_at: datetime
    ip: str | None
    user_agent: str | None


class Count(BaseModel):
    count: int


class Introspection(BaseModel):
    active: bool
    sub: str | None = None
    sid: str | None = None
    exp: int | None = None
    iat: int | None = None
    amr: list[str] | None = None
    acr: str | None = None
    second_factor_time: int | None = None
    purpose: str | None = Field(
        default=None, description='"full", or "enroll" for a session that may only enrol a factor'
    )
    elevated_until: int | None = None
    token_type: str | None = None
    aud: str | None = None
    iss: str | None = None


class ErrorDetail(BaseModel):
    code: str
    message: str
    field: str | None = None
    retry_after: int | None = None
    step_up_url: str | None = None
    reason: Literal["wrong", "already_used", "expired"] | None = Field(
        default=None,
        description="INVALID_CODE: why the code was refused; already_used means the step was "
        "spent (wait for the next code in the app)",
    )
    attempts_left: int | None = Field(
        default=None, description="INVALID_CODE: tries left before the account locks"
    )
    locked: bool | None = Field(
        default=None, description="TOO_MANY_ATTEMPTS: the account is locked (not a rate limit)"
    )


class ErrorResponse(BaseModel):
    error: ErrorDetail
