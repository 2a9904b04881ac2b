from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from tests.otp import custom_provider
from tests.otp.custom_provider import BankTOTP
from twostep.errors import InvalidParameter, InvalidSecret, ProviderError
from twostep.otp import (
    DevOTPProvider,
    EmailCodeProvider,
    OTPProvider,
    TOTPParams,
    TOTPProvider,
    decode_secret,
    load_provider,
    time_step,
    totp,
)

NOW = 1_700_000_000.0


def app_code(provider: OTPProvider, secret: str, at: float) -> str:
    """What an authenticator app configured with the provider's params shows at ``at``."""
    p = provider.params
    key = decode_secret(secret, allow_weak=True).key
    return totp(key, at, digits=p.digits, algorithm=p.algorithm, period=p.period)


def wrong_code(provider: OTPProvider, secret: str, at: float) -> str:
    """A well-formed code that none of the steps near ``at`` produces."""
    period = provider.params.period
    near = {app_code(provider, secret, at + k * period) for k in range(-3, 4)}
    return next(
        code
        for n in range(100)
        if (code := f"{n:0{provider.params.digits}d}") not in near and len(set(code)) > 1
    )


@dataclass(frozen=True)
class Case:
    """How to build one provider and obtain (secret, valid code, wrong code) for it."""

    spec: str
    credentials: Callable[[OTPProvider, float], tuple[str, str, str]]


def totp_like(provider: OTPProvider, at: float) -> tuple[str, str, str]:
    secret = provider.new_secret()
    return secret, app_code(provider, secret, at), wrong_code(provider, secret, at)


def dev(provider: OTPProvider, at: float) -> tuple[str, str, str]:
    return provider.new_secret(), "777777", "123456"


def email(provider: OTPProvider, at: float) -> tuple[str, str, str]:
    assert isinstance(provider, EmailCodeProvider)
    issued = provider.issue(at)
    other = "000000" if issued.code != "000000" else "999999"
    return issued.secret, issued.code, other


CASES = {
    "totp": Case("totp", totp_like),
    "dev": Case("dev", dev),
    "email": Case("email", email),
    "custom-colon": Case("tests.otp.custom_provider:BankTOTP", totp_like),
    "custom-dotted": Case("tests.otp.custom_provider.BankTOTP", totp_like),
}


@pytest.fixture(params=list(CASES.values()), ids=list(CASES))
def case(request: pytest.FixtureRequest) -> Case:
    value: Case = request.param
    return value


@pytest.fixture
def provider(case: Case) -> OTPProvider:
    return load_provider(case.spec, environment="development")


class TestProviderContract:
    """What services rely on, for every provider including third-party ones."""

    def test_satisfies_the_protocol(self, provider: OTPProvider) -> None:
        assert isinstance(provider, OTPProvider)
        assert provider.name
        assert isinstance(provider.params, TOTPParams)

    def test_new_secrets_are_fresh_and_strong(self, provider: OTPProvider) -> None:
        secrets = {provider.new_secret() for _ in range(20)}
        assert len(secrets) == 20
        assert all(not decode_secret(s).weak for s in secrets)

    def test_a_valid_code_returns_a_step(self, provider: OTPProvider, case: Case) -> None:
        secret, code, _ = case.credentials(provider, NOW)
        step = provider.verify(secret, code, at=NOW)
        assert isinstance(step, int)
        assert step >= 0
        assert provider.verify(secret, code, at=NOW) == step  # verifying changes nothing

    def test_the_matched_step_cannot_be_replayed(self, provider: OTPProvider, case: Case) -> None:
        secret, code, _ = case.credentials(provider, NOW)
        step = provider.verify(secret, code, at=NOW)
        assert step is not None
        assert provider.verify(secret, code, at=NOW, after_step=step) is None
        assert provider.verify(secret, code, at=NOW, after_step=step + 5) is None
        assert provider.verify(secret, code, at=NOW, after_step=step - 1) == step

    def test_a_wrong_code_is_refused(self, provider: OTPProvider, case: Case) -> None:
        secret, _, wrong = case.credentials(provider, NOW)
        assert provider.verify(secret, wrong, at=NOW) is None

    @pytest.mark.parametrize(
        "junk", ["", "abc", "１２３４５６", "٠١٢٣٤٥", "7" * 10_000, "-", "12 34 5x"]
    )
    def test_malformed_codes_return_none(
        self, provider: OTPProvider, case: Case, junk: str
    ) -> None:
        secret, _, _ = case.credentials(provider, NOW)
        assert provider.verify(secret, junk, at=NOW) is None

    def test_a_corrupt_secret_raises(self, provider: OTPProvider, case: Case) -> None:
        _, code, _ = case.credentials(provider, NOW)
        with pytest.raises(InvalidSecret):
            provider.verify("not base32!", code, at=NOW)


# --- TOTPProvider ----------------------------------------------------------------------------


def test_totp_provider_accepts_drift_within_its_window() -> None:
    provider = TOTPProvider(window=2)
    secret = provider.new_secret()
    step = time_step(NOW)
    for offset in (-2, -1, 0, 1, 2):
        code = provider.code(secret, at=NOW + offset * 30)
        assert provider.verify(secret, code, at=NOW) == step + offset
    assert provider.verify(secret, provider.code(secret, at=NOW + 90), at=NOW) is None


def test_totp_provider_uses_its_params() -> None:
    provider = TOTPProvider(algorithm="sha512", digits=8, period=60)
    secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
    code = provider.code(secret, at=NOW)
    assert len(code) == 8
    assert provider.verify(secret, code, at=NOW) == time_step(NOW, 60)
    assert provider.params == TOTPParams("sha512", 8, 60)


def test_totp_provider_verifies_imported_weak_secrets() -> None:
    provider = TOTPProvider()
    weak = "JBSWY3DPEHPK3PXP"
    assert provider.verify(weak, provider.code(weak, at=NOW), at=NOW) == time_step(NOW)


@pytest.mark.parametrize(
    "kwargs", [{"window": -1}, {"window": 11}, {"digits": 9}, {"period": 0}, {"secret_bits": 64}]
)
def test_totp_provider_refuses_bad_settings(kwargs: dict[str, int]) -> None:
    with pytest.raises(InvalidParameter):
        TOTPProvider(**kwargs)  # type: ignore[arg-type]


def test_load_provider_passes_the_window() -> None:
    provider = load_provider("totp", environment="production", window=3)
    assert isinstance(provider, TOTPProvider)
    assert provider.window == 3


# --- DevOTPProvider --------------------------------------------------------------------------


def test_dev_provider_accepts_every_repeated_digit_for_any_secret() -> None:
    provider = DevOTPProvider(environment="development")
    for digit in "0123456789":
        assert provider.verify(provider.new_secret(), digit * 6, at=NOW) == time_step(NOW)


def test_dev_provider_accepts_nothing_else() -> None:
    provider = DevOTPProvider(environment="development")
    secret = provider.new_secret()
    real = totp(decode_secret(secret).key, NOW)
    for code in ("123456", "00000", "0000000", real if len(set(real)) > 1 else "654321"):
        assert provider.verify(secret, code, at=NOW) is None


def test_dev_provider_keeps_replay_rules() -> None:
    provider = DevOTPProvider(environment="development")
    secret = provider.new_secret()
    step = provider.verify(secret, "111111", at=NOW)
    assert step is not None
    assert provider.verify(secret, "222222", at=NOW + 1, after_step=step) is None
    assert provider.verify(secret, "222222", at=NOW + 30, after_step=step) == step + 1


def test_dev_provider_is_refused_in_production() -> None:
    with pytest.raises(ProviderError, match="production"):
        DevOTPProvider(environment="production")
    with pytest.raises(ProviderError, match="production"):
        load_provider("dev", environment="production")


def test_dev_provider_treats_an_unknown_environment_as_production() -> None:
    with pytest.raises(ProviderError):
        DevOTPProvider(environment="staging")  # type: ignore[arg-type]


# --- EmailCodeProvider -----------------------------------------------------------------------


def test_email_codes_are_numeric_and_expire_after_ten_minutes() -> None:
    provider = EmailCodeProvider()
    issued = provider.issue(NOW)
    assert len(issued.code) == provider.digits == 6
    assert issued.code.isascii() and issued.code.isdigit()
    assert issued.issued_at == NOW
    assert issued.expires_at == NOW + 600 == NOW + provider.validity_seconds


def test_email_codes_are_fresh_per_issue() -> None:
    provider = EmailCodeProvider()
    issued = [provider.issue(NOW) for _ in range(50)]
    assert len({i.secret for i in issued}) == 50
    assert len({i.code for i in issued}) > 40


def test_an_email_code_only_matches_its_own_issue() -> None:
    provider = EmailCodeProvider()
    first, second = provider.issue(NOW), provider.issue(NOW)
    if first.code != second.code:
        assert provider.verify(first.secret, second.code, at=NOW) is None


def test_issued_codes_do_not_leak_through_repr() -> None:
    issued = EmailCodeProvider().issue(NOW)
    assert issued.code not in repr(issued)
    assert issued.secret not in repr(issued)


def test_email_provider_settings_are_bounded() -> None:
    assert EmailCodeProvider(digits=8).issue(NOW).code.isdigit()
    with pytest.raises(ProviderError):
        EmailCodeProvider(validity_seconds=3600)
    with pytest.raises(InvalidParameter):
        EmailCodeProvider(digits=4)


# --- load_provider ---------------------------------------------------------------------------


def test_builtin_names_give_builtin_providers() -> None:
    assert isinstance(load_provider("totp", environment="production"), TOTPProvider)
    assert isinstance(load_provider(" dev ", environment="development"), DevOTPProvider)
    assert isinstance(load_provider("email", environment="production"), EmailCodeProvider)


def test_a_dotted_path_to_a_class_is_built_with_the_window() -> None:
    provider = load_provider(
        "tests.otp.custom_provider:BankTOTP", environment="production", window=0
    )
    assert isinstance(provider, BankTOTP)
    assert provider.window == 0


def test_a_dotted_path_to_an_instance_returns_it() -> None:
    loaded = load_provider("tests.otp.custom_provider:SHARED", environment="production")
    assert loaded is custom_provider.SHARED


def test_a_factory_receives_the_environment() -> None:
    spec = "tests.otp.custom_provider:production_only"
    assert isinstance(load_provider(spec, environment="production"), BankTOTP)
    with pytest.raises(ProviderError, match="for production"):
        load_provider(spec, environment="development")


def test_builtin_classes_can_be_named_by_path_too() -> None:
    provider = load_provider(
        "twostep.otp.providers:TOTPProvider", environment="production", window=2
    )
    assert isinstance(provider, TOTPProvider)
    assert provider.window == 2


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ("sms", "unknown OTP provider 'sms'"),
        ("", "unknown OTP provider"),
        ("tests.otp.custom_provider:", "unknown OTP provider"),
        ("tests.otp.custom provider:BankTOTP", "unknown OTP provider"),
        ("no_such_package.otp:Provider", "cannot import 'no_such_package.otp'"),
        ("tests.otp.custom_provider:Missing", "has no attribute 'Missing'"),
        ("tests.otp.custom_provider.Missing", "has no attribute 'Missing'"),
        ("tests.otp.custom_provider:NOT_A_PROVIDER", "neither an OTP provider nor a factory"),
        ("tests.otp.custom_provider:broken", "failed: vendor SDK missing"),
        ("tests.otp.custom_provider:returns_a_string", "did not give an OTP provider"),
        ("tests.otp.custom_provider:HalfProvider", "did not give an OTP provider"),
    ],
)
def test_load_provider_explains_every_failure(spec: str, match: str) -> None:
    with pytest.raises(ProviderError, match=match):
        load_provider(spec, environment="production")
