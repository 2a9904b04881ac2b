"""The pure OTP toolkit: HOTP/TOTP, secrets, otpauth URIs, QR codes, backup codes, providers.

Nothing in this package does I/O or reads the clock; time always comes in as ``at`` (Unix
seconds) or a step, and a verification returns the matched step so the caller can make each
code single-use.
"""

from __future__ import annotations

from twostep.otp.backup_codes import (
    format_backup_code,
    generate_backup_codes,
    normalize_backup_code,
)
from twostep.otp.hotp import ALGORITHMS, Algorithm, hotp
from twostep.otp.providers import (
    DevOTPProvider,
    EmailCodeProvider,
    Environment,
    IssuedCode,
    OTPProvider,
    TOTPProvider,
    load_provider,
)
from twostep.otp.qr import qr_png, qr_png_data_uri, qr_svg, qr_svg_data_uri, qr_terminal
from twostep.otp.secrets import DecodedSecret, decode_secret, encode_secret, generate_secret
from twostep.otp.totp import TOTPParams, normalize_code, time_step, totp, verify_totp
from twostep.otp.uri import OTPAuthURI, OTPType, build_uri, parse_uri

__all__ = [
    "ALGORITHMS",
    "Algorithm",
    "DecodedSecret",
    "DevOTPProvider",
    "EmailCodeProvider",
    "Environment",
    "IssuedCode",
    "OTPAuthURI",
    "OTPProvider",
    "OTPType",
    "TOTPParams",
    "TOTPProvider",
    "build_uri",
    "decode_secret",
    "encode_secret",
    "format_backup_code",
    "generate_backup_codes",
    "generate_secret",
    "hotp",
    "load_provider",
    "normalize_backup_code",
    "normalize_code",
    "parse_uri",
    "qr_png",
    "qr_png_data_uri",
    "qr_svg",
    "qr_svg_data_uri",
    "qr_terminal",
    "time_step",
    "totp",
    "verify_totp",
]
