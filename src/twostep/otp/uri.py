"""``otpauth://`` URIs in the Google Key URI Format, built and parsed losslessly.

The label is ``Issuer:account`` (percent-encoded, spaces as ``%20``) and the ``issuer``
parameter repeats the prefix: old apps read one, new apps the other, and a URI whose two
issuers disagree is refused rather than guessed at. Defaults (SHA1, 6 digits, 30 s) are left
out of the URI, which keeps the QR code small. Every way a URI can be malformed raises
:class:`~twostep.errors.InvalidURI` with a message naming the problem, and
``parse_uri(u.to_uri()) == u`` holds for every valid :class:`OTPAuthURI`.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from typing import Final, Literal
from urllib.parse import quote, unquote, unquote_plus, urlsplit

from twostep.errors import InvalidParameter, InvalidSecret, InvalidURI
from twostep.otp.hotp import ALGORITHMS, Algorithm, check_counter
from twostep.otp.secrets import DecodedSecret, canonical_secret, decode_secret
from twostep.otp.totp import TOTPParams

OTPType = Literal["totp", "hotp"]

MAX_URI_LENGTH: Final = 4096
_ALGORITHM_NAMES: Final[dict[str, Algorithm]] = {name: name for name in ALGORITHMS}


def _check_name(what: str, value: str, *, required: bool) -> None:
    if type(value) is not str:
        raise InvalidURI(f"the {what} must be a string")
    if not value:
        if required:
            raise InvalidURI(f"the {what} must not be empty")
        return
    if ":" in value:
        raise InvalidURI(f"the {what} must not contain a colon")
    if value != value.strip():
        raise InvalidURI(f"the {what} must not start or end with whitespace")
    if any(unicodedata.category(char) in ("Cc", "Cs") for char in value):
        raise InvalidURI(f"the {what} must not contain control characters")


@dataclass(frozen=True, slots=True)
class OTPAuthURI:
    """One enrollment: who issues it, for which account, with which secret and parameters.

    ``issuer`` may be empty only for imported URIs that have none. ``secret`` is kept in its
    canonical form (upper-case base32, no padding) so equal URIs compare equal.
    """

    type: OTPType
    issuer: str
    account: str
    secret: str = field(repr=False)
    algorithm: Algorithm = "sha1"
    digits: int = 6
    period: int = 30
    counter: int | None = None

    def __post_init__(self) -> None:
        if self.type not in ("totp", "hotp"):
            raise InvalidURI(f"the type must be totp or hotp, not {self.type!r}")
        _check_name("issuer", self.issuer, required=False)
        _check_name("account", self.account, required=True)
        if type(self.secret) is not str:
            raise InvalidURI("the secret must be a base32 string")
        try:
            decode_secret(self.secret, allow_weak=True)
            TOTPParams(self.algorithm, self.digits, self.period)
            if self.type == "hotp":
                if self.counter is None:
                    raise InvalidURI("an hotp URI needs a counter")
                check_counter(self.counter)
        except (InvalidSecret, InvalidParameter) as exc:
            raise InvalidURI(str(exc)) from None
        if self.type == "totp" and self.counter is not None:
            raise InvalidURI("a counter applies only to hotp URIs")
        if self.type == "hotp" and self.period != 30:
            raise InvalidURI("a period applies only to totp URIs")
        object.__setattr__(self, "secret", canonical_secret(self.secret))

    @property
    def label(self) -> str:
        """``Issuer:account``, or just the account when there is no issuer."""
        return f"{self.issuer}:{self.account}" if self.issuer else self.account

    @property
    def params(self) -> TOTPParams:
        """The algorithm, digits and period as one value."""
        return TOTPParams(self.algorithm, self.digits, self.period)

    def decoded_secret(self) -> DecodedSecret:
        """The raw key (and whether it is weak) behind :attr:`secret`."""
        return decode_secret(self.secret, allow_weak=True)

    def to_uri(self) -> str:
        """The ``otpauth://`` URI, with default parameters left out."""
        label = quote(self.account, safe="@")
        if self.issuer:
            label = f"{quote(self.issuer, safe='@')}:{label}"
        query = [f"secret={self.secret}"]
        if self.issuer:
            query.append(f"issuer={quote(self.issuer, safe='')}")
        if self.algorithm != "sha1":
            query.append(f"algorithm={self.algorithm.upper()}")
        if self.digits != 6:
            query.append(f"digits={self.digits}")
        if self.type == "totp" and self.period != 30:
            query.append(f"period={self.period}")
        if self.counter is not None:
            query.append(f"counter={self.counter}")
        return f"otpauth://{self.type}/{label}?{'&'.join(query)}"


def build_uri(
    issuer: str,
    account: str,
    secret: str,
    *,
    type: OTPType = "totp",
    algorithm: Algorithm = "sha1",
    digits: int = 6,
    period: int = 30,
    counter: int | None = None,
) -> str:
    """Validate the parts and return the ``otpauth://`` URI in one call."""
    return OTPAuthURI(type, issuer, account, secret, algorithm, digits, period, counter).to_uri()


def _decimal(name: str, value: str) -> int:
    if not (value.isascii() and value.isdigit()) or len(value) > 20:
        raise InvalidURI(f"the {name} parameter must be a decimal number, not {value!r}")
    return int(value)


def _query(query: str) -> dict[str, str]:
    params: dict[str, str] = {}
    for part in query.split("&"):
        if not part:
            continue
        name, sep, raw = part.partition("=")
        name = name.lower()
        if not sep:
            raise InvalidURI(f"the parameter {name!r} has no value")
        if name in params:
            raise InvalidURI(f"the parameter {name!r} appears more than once")
        try:
            value = unquote_plus(raw, errors="strict")
        except UnicodeDecodeError:
            raise InvalidURI(f"the parameter {name!r} is not valid UTF-8") from None
        if not value:
            raise InvalidURI(f"the parameter {name!r} is empty")
        params[name] = value
    return params


def _split_label(path: str) -> tuple[str, str]:
    if not path.startswith("/") or len(path) < 2:
        raise InvalidURI("the URI has no label (otpauth://TYPE/Issuer:account)")
    try:
        label = unquote(path[1:], errors="strict")
    except UnicodeDecodeError:
        raise InvalidURI("the label is not valid UTF-8") from None
    prefix, colon, account = label.partition(":")
    if not colon:
        return "", label
    if ":" in account:
        raise InvalidURI("the label must hold at most one colon (Issuer:account)")
    if not prefix:
        raise InvalidURI("the label has an empty issuer before the colon")
    return prefix, account.lstrip(" ")


def parse_uri(uri: str) -> OTPAuthURI:
    """Parse and validate an ``otpauth://`` URI; raise InvalidURI naming what is wrong."""
    if type(uri) is not str:
        raise InvalidURI("the URI must be a string")
    if len(uri) > MAX_URI_LENGTH:
        raise InvalidURI(f"the URI is longer than {MAX_URI_LENGTH} characters")
    try:
        parts = urlsplit(uri.strip())
    except ValueError as exc:
        raise InvalidURI(f"the URI cannot be split: {exc}") from None
    if parts.scheme != "otpauth":
        raise InvalidURI(f"the scheme must be otpauth, not {parts.scheme or 'missing'!r}")
    kind = parts.netloc.lower()
    if kind not in ("totp", "hotp"):
        raise InvalidURI(f"the type must be totp or hotp, not {parts.netloc!r}")
    if parts.fragment:
        raise InvalidURI("the URI must not have a #fragment")
    prefix, account = _split_label(parts.path)
    params = _query(parts.query)
    if "secret" not in params:
        raise InvalidURI("the URI has no secret parameter")
    issuer = params.get("issuer", prefix)
    if prefix and issuer != prefix:
        raise InvalidURI(f"the issuer parameter {issuer!r} differs from the label's {prefix!r}")
    algorithm = _ALGORITHM_NAMES.get(params.get("algorithm", "sha1").lower())
    if algorithm is None:
        raise InvalidURI(
            f"the algorithm must be SHA1, SHA256 or SHA512, not {params['algorithm']!r}"
        )
    if kind == "totp" and "counter" in params:
        raise InvalidURI("a counter applies only to hotp URIs")
    if kind == "hotp" and "period" in params:
        raise InvalidURI("a period applies only to totp URIs")
    if kind == "hotp" and "counter" not in params:
        raise InvalidURI("an hotp URI needs a counter parameter")
    return OTPAuthURI(
        type="totp" if kind == "totp" else "hotp",
        issuer=issuer,
        account=account,
        secret=params["secret"],
        algorithm=algorithm,
        digits=_decimal("digits", params.get("digits", "6")),
        period=_decimal("period", params.get("period", "30")),
        counter=_decimal("counter", params["counter"]) if "counter" in params else None,
    )
