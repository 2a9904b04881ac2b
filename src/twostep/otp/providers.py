"""OTP providers: the one extension point through which services create and check codes.

Services never call :func:`~twostep.otp.totp.verify_totp` directly; they hold an
:class:`OTPProvider` chosen by configuration (:func:`load_provider`), so development can use
:class:`DevOTPProvider` and an operator can plug in their own class without touching the
services. Every provider obeys the same contract, checked by one shared test suite: verifying
returns the matched step (never one at or before ``after_step``) so the caller's atomic
``last_used_step`` update makes each code single-use.
"""

from __future__ import annotations

import hmac
import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final, Literal, Protocol, TypeGuard, runtime_checkable

from twostep.errors import ProviderError
from twostep.otp.hotp import Algorithm, hotp
from twostep.otp.secrets import check_secret_bits, decode_secret, generate_secret
from twostep.otp.totp import (
    TOTPParams,
    check_window,
    normalize_code,
    time_step,
    totp,
    verify_totp,
)

Environment = Literal["development", "production"]


@runtime_checkable
class OTPProvider(Protocol):
    """Creates secrets for new devices and verifies codes against them.

    The contract:

    * ``name`` identifies the provider in logs and audit events.
    * ``params`` are the algorithm, digits and period an authenticator app must use; the
      service stores them on the device and puts them in the ``otpauth://`` URI.
    * ``new_secret()`` returns a fresh secret as base32 text; the service encrypts it at rest.
    * ``verify(secret, code, at=, after_step=)`` returns the time step the code belongs to, or
      None. It must never return a step ``<= after_step`` (the last step accepted for this
      device), must return None rather than raise for any malformed ``code``, may raise
      :class:`~twostep.errors.InvalidSecret` for a corrupt ``secret``, and must not read the
      clock: ``at`` is the time in Unix seconds.

    A worked example: 8-digit SHA-256 codes, as some banks require::

        from twostep.otp import TOTPParams, decode_secret, generate_secret, verify_totp

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
                    decode_secret(secret, allow_weak=True).key, code, at=at,
                    window=self.window, after_step=after_step, digits=8, algorithm="sha256",
                )

    Saved as ``mybank/otp.py``, it is selected with ``TWOSTEP_OTP_PROVIDER=mybank.otp:BankTOTP``;
    :func:`load_provider` passes ``window`` (and ``environment``) to any factory that accepts
    them.
    """

    @property
    def name(self) -> str: ...

    @property
    def params(self) -> TOTPParams: ...

    def new_secret(self) -> str: ...

    def verify(
        self, secret: str, code: str, *, at: float, after_step: int | None = None
    ) -> int | None: ...


class TOTPProvider:
    """RFC 6238 codes from an authenticator app; the production provider."""

    name: Final = "totp"

    def __init__(
        self,
        window: int = 1,
        algorithm: Algorithm = "sha1",
        digits: int = 6,
        period: int = 30,
        *,
        secret_bits: int = 160,
    ) -> None:
        self.window = check_window(window)
        self.params = TOTPParams(algorithm, digits, period)
        self.secret_bits = check_secret_bits(secret_bits)

    def new_secret(self) -> str:
        return generate_secret(self.secret_bits)

    def verify(
        self, secret: str, code: str, *, at: float, after_step: int | None = None
    ) -> int | None:
        p = self.params
        return verify_totp(
            decode_secret(secret, allow_weak=True).key,
            code,
            at=at,
            window=self.window,
            after_step=after_step,
            digits=p.digits,
            algorithm=p.algorithm,
            period=p.period,
        )

    def code(self, secret: str, *, at: float) -> str:
        """The code an authenticator app shows for ``secret`` at ``at`` (for CLIs and tests)."""
        p = self.params
        key = decode_secret(secret, allow_weak=True).key
        return totp(key, at, digits=p.digits, algorithm=p.algorithm, period=p.period)


class DevOTPProvider:
    """Development only: accepts ``000000``, ``111111`` … ``999999`` for any valid secret.

    It returns the current step, so replay rules behave as in production (the same dev code
    twice within one period is refused). Building it for production raises ProviderError.
    """

    name: Final = "dev"

    def __init__(self, *, environment: Environment, digits: int = 6, period: int = 30) -> None:
        if environment != "development":
            raise ProviderError(
                f"the dev OTP provider accepts fixed codes and is refused in {environment!r}"
            )
        self.params = TOTPParams("sha1", digits, period)
        self._codes = frozenset(str(digit) * digits for digit in range(10))

    def new_secret(self) -> str:
        return generate_secret()

    def verify(
        self, secret: str, code: str, *, at: float, after_step: int | None = None
    ) -> int | None:
        decode_secret(secret, allow_weak=True)
        step = time_step(at, self.params.period)
        candidate = normalize_code(code, self.params.digits)
        if candidate not in self._codes or (after_step is not None and step <= after_step):
            return None
        return step


@dataclass(frozen=True, slots=True)
class IssuedCode:
    """An emailed code: mail ``code``, store a keyed hash of it and ``expires_at``."""

    code: str = field(repr=False)
    secret: str = field(repr=False)
    issued_at: float
    expires_at: float


class EmailCodeProvider:
    """Numeric codes sent by email, valid for ``validity_seconds`` (10 minutes) after issue.

    Each code is the HOTP value (counter 0) of a fresh random secret, so it is uniformly random
    and unrelated to every other code. A service that keeps only a keyed hash of ``code`` and
    ``expires_at`` can drop ``secret``; one that keeps the (encrypted) secret instead can use
    :meth:`verify`, whose only step is 0, and must check ``expires_at`` itself. Of ``params``
    only ``digits`` means anything here. Email proves control of an address; it is never a
    second factor.
    """

    name: Final = "email"

    def __init__(self, *, digits: int = 6, validity_seconds: int = 600) -> None:
        if type(validity_seconds) is not int or not 60 <= validity_seconds <= 600:
            raise ProviderError("email codes must be valid for 60 to 600 seconds")
        self.params = TOTPParams("sha1", digits, 30)
        self.validity_seconds = validity_seconds

    @property
    def digits(self) -> int:
        return self.params.digits

    def new_secret(self) -> str:
        return generate_secret()

    def issue(self, at: float) -> IssuedCode:
        """A new code issued at ``at``; it expires ``validity_seconds`` later."""
        time_step(at, 1)  # the same range check as every other time argument
        secret = generate_secret()
        code = hotp(decode_secret(secret).key, 0, digits=self.digits)
        return IssuedCode(code, secret, float(at), float(at) + self.validity_seconds)

    def verify(
        self, secret: str, code: str, *, at: float, after_step: int | None = None
    ) -> int | None:
        time_step(at, 1)
        key = decode_secret(secret, allow_weak=True).key
        candidate = normalize_code(code, self.digits)
        if candidate is None or (after_step is not None and after_step >= 0):
            return None
        return 0 if hmac.compare_digest(hotp(key, 0, digits=self.digits), candidate) else None


_BUILTIN: Final = ("totp", "dev", "email")


def _accepted(target: Callable[..., object], offered: dict[str, object]) -> dict[str, object]:
    try:
        parameters = inspect.signature(target).parameters.values()
    except (TypeError, ValueError):
        return {}
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return offered
    names = {p.name for p in parameters if p.kind is not inspect.Parameter.POSITIONAL_ONLY}
    return {name: value for name, value in offered.items() if name in names}


def _is_provider(candidate: object) -> TypeGuard[OTPProvider]:
    return (
        isinstance(candidate, OTPProvider)
        and isinstance(candidate.name, str)
        and isinstance(candidate.params, TOTPParams)
        and callable(candidate.new_secret)
        and callable(candidate.verify)
    )


def _resolve(spec: str) -> object:
    module_name, colon, attribute = spec.partition(":")
    if not colon:
        module_name, _, attribute = spec.rpartition(".")
    names = [*module_name.split("."), *attribute.split(".")]
    if not module_name or not attribute or not all(name.isidentifier() for name in names):
        raise ProviderError(
            f"unknown OTP provider {spec!r}: use one of {', '.join(_BUILTIN)} "
            "or a dotted path such as package.module:Factory"
        )
    try:
        target: object = importlib.import_module(module_name)
    except ImportError as exc:
        raise ProviderError(f"cannot import {module_name!r} for OTP provider: {exc}") from exc
    for name in attribute.split("."):
        try:
            target = getattr(target, name)
        except AttributeError:
            raise ProviderError(f"{module_name!r} has no attribute {attribute!r}") from None
    return target


def load_provider(spec: str, *, environment: Environment, window: int = 1) -> OTPProvider:
    """The provider named by ``spec``: ``totp``, ``dev``, ``email`` or ``package.module:Factory``.

    A dotted target may be a provider instance, or a class or factory that is called with
    whichever of ``environment`` and ``window`` it accepts. Import failures, missing attributes
    and objects that do not satisfy :class:`OTPProvider` raise
    :class:`~twostep.errors.ProviderError`.
    """
    spec = spec.strip()
    if spec == "totp":
        return TOTPProvider(window=window)
    if spec == "dev":
        return DevOTPProvider(environment=environment)
    if spec == "email":
        return EmailCodeProvider()
    target = _resolve(spec)
    if isinstance(target, type) or not _is_provider(target):
        if not callable(target):
            raise ProviderError(f"{spec!r} is neither an OTP provider nor a factory of one")
        kwargs = _accepted(target, {"environment": environment, "window": window})
        try:
            target = target(**kwargs)
        except ProviderError:
            raise
        except Exception as exc:
            raise ProviderError(f"building the OTP provider {spec!r} failed: {exc}") from exc
    if _is_provider(target):
        return target
    raise ProviderError(
        f"{spec!r} did not give an OTP provider: it needs name, params, new_secret() and "
        "verify(secret, code, *, at, after_step)"
    )
