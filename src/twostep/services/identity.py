"""Email addresses as account identifiers: one normalised form, stored and compared.

The whole address is lower-cased after validation (IDNA domain, NFC local part), so
``Alice@Example.COM`` and ``alice@example.com`` are the same account. The keyed hash of the
normalised address names per-account counters for known and unknown addresses alike, so a
counter never tells whether an account exists.
"""

from __future__ import annotations

import unicodedata

from email_validator import EmailNotValidError, validate_email

from twostep.errors import InvalidInput
from twostep.security import keyed_hash

MAX_EMAIL_LENGTH = 254


def normalize_email(email: str) -> str:
    """The canonical form of ``email``; :class:`InvalidInput` if it is not an address."""
    candidate = email.strip()
    if not candidate or len(candidate) > MAX_EMAIL_LENGTH:
        raise InvalidInput("email", "Enter a valid email address.")
    try:
        valid = validate_email(candidate, check_deliverability=False)
    except EmailNotValidError:
        raise InvalidInput("email", "Enter a valid email address.") from None
    return valid.normalized.lower()


def account_key(email: str) -> str:
    """The per-account rate-limit key of a typed address, normalised like the account itself.

    An address gets its canonical form, so ``Alice@EXAMPLE.com`` and a full-width
    ``alice@ｅｘａｍｐｌｅ.com`` share one budget; text that is no address is folded the same
    way (NFKC, case, whitespace), so its variants cannot buy extra budgets either.
    """
    try:
        return normalize_email(email)
    except InvalidInput:
        folded = unicodedata.normalize("NFKC", email[: MAX_EMAIL_LENGTH * 4])
        return " ".join(folded.split()).casefold()[:MAX_EMAIL_LENGTH]


def email_hash(pepper: bytes, normalized_email: str) -> str:
    """A keyed hash of a normalised address, for throttle keys and lookups."""
    return keyed_hash(pepper, f"email:{normalized_email}")
