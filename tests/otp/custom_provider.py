"""A third-party provider, loaded by dotted path in the provider contract tests.

``BankTOTP`` is the worked example from the :class:`twostep.otp.OTPProvider` docstring, kept
word for word so the example is proven to work.
"""

from __future__ import annotations

from twostep.errors import ProviderError
from twostep.otp import Environment, TOTPParams, decode_secret, generate_secret, verify_totp


class BankTOTP:
    name = "bank-totp"
    params = TOTPParams(algorithm="sha256", digits=8, period=30)

    def __init__(self, *, window: int = 1) -> None:
        self.window = window

    def new_secret(self) -> str:
        return generate_secret(256)

    def verify(
        self, secret: str, code: str, *, at: float, after_step: int | None = None
    ) -> int | None:
        return verify_totp(
            decode_secret(secret, allow_weak=True).key,
            code,
            at=at,
            window=self.window,
            after_step=after_step,
            digits=8,
            algorithm="sha256",
        )


SHARED = BankTOTP(window=0)
NOT_A_PROVIDER = 42


def production_only(*, environment: Environment) -> BankTOTP:
    if environment != "production":
        raise ProviderError("this provider is for production")
    return BankTOTP()


def broken() -> BankTOTP:
    raise RuntimeError("vendor SDK missing")


def returns_a_string() -> str:
    return "totp"


class HalfProvider:
    name = "half"

    def new_secret(self) -> str:
        return generate_secret()
