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
