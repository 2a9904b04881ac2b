"""twostep: self-hostable TOTP two-factor authentication, and the toolkit it is built from."""

__version__ = "0.1.0"
