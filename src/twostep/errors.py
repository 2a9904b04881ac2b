"""The one error tree of twostep.

Every error raised on purpose derives from :class:`TwostepError`. Each subclass carries a
stable ``code`` (the API error code) and whatever data a caller needs to act on it, such as
``retry_after`` on :class:`Locked`. HTTP status codes are chosen only by the web layer.
"""

from __future__ import annotations


class TwostepError(Exception):
    """Root of every deliberate twostep error."""

    code: str = "ERROR"
    default_message: str = "The request could not be completed."

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.default_message
        super().__init__(self.message)


# --- toolkit (otp / security) -------------------------------------------------------------


class InvalidSecret(TwostepError, ValueError):
    """A shared secret is not base32, or is too short to be safe."""

    code = "INVALID_SECRET"
    default_message = "The secret is not a valid base32 key of sufficient length."


class InvalidURI(TwostepError, ValueError):
    """An ``otpauth://`` URI is malformed or violates the Key URI Format."""

    code = "INVALID_URI"
    default_message = "The otpauth URI is malformed."


class InvalidParameter(TwostepError, ValueError):
    """An OTP parameter (digits, period, algorithm, counter) is out of range."""

    code = "INVALID_PARAMETER"
    default_message = "An OTP parameter is out of range."


class ProviderError(TwostepError):
    """An OTP provider cannot be built or loaded (e.g. the dev provider in production)."""

    code = "PROVIDER_ERROR"
    default_message = "The OTP provider cannot be used."


class KeyringError(TwostepError):
    """A keyring cannot be loaded, or a ciphertext cannot be opened with it."""

    code = "KEYRING_ERROR"
    default_message = "The keyring cannot open this value."


class DecryptionError(KeyringError):
    """A ciphertext was tampered with, belongs to another owner, or uses an unknown key."""

    code = "DECRYPTION_FAILED"
    default_message = "The ciphertext cannot be decrypted with this keyring and owner."


class ConfigurationError(TwostepError):
    """Settings are unsafe or inconsistent for the chosen environment."""

    code = "CONFIGURATION_ERROR"
    default_message = "The configuration is invalid."


class MailError(TwostepError):
    """A message could not be handed to the mail server."""

    code = "MAIL_ERROR"
    default_message = "The message could not be sent."


# --- domain errors raised by the services -------------------------------------------------


class InvalidCredentials(TwostepError):
    """Email or password wrong, or the account cannot sign in. Deliberately unspecific."""

    code = "INVALID_CREDENTIALS"
    default_message = "The email or password is incorrect."


class InvalidCode(TwostepError):
    """A one-time code, backup code or token was wrong, used, or expired.

    ``reason`` says which, when the service knows: ``"already_used"`` (the code's step, or the
    backup code, was spent already), ``"wrong"``, or ``"expired"``. ``attempts_left`` counts
    the tries before the account locks, when a lockout counter was charged.
    """

    code = "INVALID_CODE"
    default_message = "The code is invalid or has already been used."

    def __init__(
        self,
        message: str | None = None,
        *,
        reason: str | None = None,
        attempts_left: int | None = None,
    ) -> None:
        self.reason = reason
        self.attempts_left = attempts_left
        super().__init__(message)


class ResetLinkInvalid(InvalidCode):
    """A password-reset link that is unknown, used or expired: only a new link helps.

    Distinct from a wrong code on the reset form (the same ``INVALID_CODE`` on the wire), so
    that a page can offer a new link instead of asking for the code again.
    """

    default_message = "This reset link is invalid, has already been used, or has expired."

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message, reason="expired")


class ChallengeExpired(TwostepError):
    """A login or step-up challenge is unknown, finished, or past its expiry."""

    code = "CHALLENGE_EXPIRED"
    default_message = "This sign-in attempt has expired. Please start again."


class TooManyAttempts(TwostepError):
    """Too many failures or requests; try again after ``retry_after`` seconds."""

    code = "TOO_MANY_ATTEMPTS"
    default_message = "Too many attempts. Please try again later."

    def __init__(
        self, retry_after: int, message: str | None = None, *, locked: bool = False
    ) -> None:
        self.retry_after = max(1, int(retry_after))
        self.locked = locked
        super().__init__(message)


class ElevationRequired(TwostepError):
    """The operation needs a session elevated with a fresh second factor."""

    code = "ELEVATION_REQUIRED"
    default_message = "Confirm with a code from your authenticator to continue."


class EnrollmentRequired(TwostepError):
    """Policy requires a second factor and the user has none yet."""

    code = "MFA_ENROLLMENT_REQUIRED"
    default_message = "Set up two-factor authentication to continue."


class MissingClaim(TwostepError):
    """The token lacks a claim the resource requires."""

    code = "MISSING_CLAIM"
    default_message = "Your session is not allowed to do this."

    def __init__(self, claim: str, message: str | None = None) -> None:
        self.claim = claim
        super().__init__(message)


class InvalidInput(TwostepError):
    """Input failed a domain rule; ``field`` names the offending field."""

    code = "VALIDATION_ERROR"
    default_message = "The input is invalid."

    def __init__(self, field: str, message: str | None = None) -> None:
        self.field = field
        super().__init__(message)


class WeakPassword(InvalidInput):
    """A new password breaks the password policy."""

    default_message = "Choose a longer or less common password."

    def __init__(self, message: str | None = None) -> None:
        super().__init__("password", message)


class NotFound(TwostepError):
    """The resource does not exist or does not belong to the caller."""

    code = "NOT_FOUND"
    default_message = "Not found."


class Forbidden(TwostepError):
    """The caller is authenticated but not allowed to do this."""

    code = "FORBIDDEN"
    default_message = "You are not allowed to do this."


class VerificationRequired(Forbidden):
    """The account's address is not verified yet, and this needs an owned address (§4.13)."""

    code = "EMAIL_VERIFICATION_REQUIRED"
    default_message = "Confirm your email address first: use the code or link we sent you."


class Unauthenticated(TwostepError):
    """No valid session: the token is missing, invalid, expired or revoked."""

    code = "UNAUTHENTICATED"
    default_message = "Please sign in."


class InvalidToken(Unauthenticated):
    """An access token is malformed, badly signed, expired, or for another audience."""

    code = "INVALID_TOKEN"
    default_message = "The access token is invalid or has expired."
