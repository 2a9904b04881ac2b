from __future__ import annotations

from typing import get_args

import pytest
from hypothesis import given
from hypothesis import strategies as st

from twostep.errors import InvalidURI
from twostep.otp import ALGORITHMS, OTPAuthURI, OTPType, build_uri, generate_secret, parse_uri

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
WEAK = "JBSWY3DPEHPK3PXP"  # 80 bits, as many older services issued


def test_builds_the_google_key_uri_format() -> None:
    uri = build_uri("ACME Co", "john.doe@email.com", SECRET)
    assert uri == (
        "otpauth://totp/ACME%20Co:john.doe@email.com?secret=" + SECRET + "&issuer=ACME%20Co"
    )


def test_non_default_parameters_are_written() -> None:
    uri = build_uri("Big Bank", "alice", SECRET, algorithm="sha256", digits=8, period=60)
    assert uri.endswith("&issuer=Big%20Bank&algorithm=SHA256&digits=8&period=60")


def test_hotp_writes_its_counter() -> None:
    uri = build_uri("Acme", "bob", SECRET, type="hotp", counter=42)
    assert uri == f"otpauth://hotp/Acme:bob?secret={SECRET}&issuer=Acme&counter=42"


def test_reserved_characters_are_percent_encoded() -> None:
    uri = build_uri("A&B/C?#%+", "x y=z&w", SECRET)
    assert uri.startswith("otpauth://totp/A%26B%2FC%3F%23%25%2B:x%20y%3Dz%26w?")
    assert "&issuer=A%26B%2FC%3F%23%25%2B" in uri
    assert parse_uri(uri).issuer == "A&B/C?#%+"
    assert parse_uri(uri).account == "x y=z&w"


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        (
            f"otpauth://totp/ACME%20Co:john@example.com?secret={SECRET}&issuer=ACME%20Co"
            "&algorithm=SHA1&digits=6&period=30",
            OTPAuthURI("totp", "ACME Co", "john@example.com", SECRET),
        ),
        (  # issuer only in the parameter, lower-case secret with padding, '+' for space
            f"otpauth://totp/alice?secret={SECRET.lower()}%3D%3D&issuer=Big+Bank&digits=8",
            OTPAuthURI("totp", "Big Bank", "alice", SECRET, digits=8),
        ),
        (  # issuer only in the label, encoded colon and a space before the account
            f"otpauth://totp/Example%3A%20alice?secret={SECRET}&algorithm=sha512&period=60",
            OTPAuthURI("totp", "Example", "alice", SECRET, algorithm="sha512", period=60),
        ),
        (  # no issuer at all, and an unknown parameter some apps add
            f"otpauth://totp/alice?secret={SECRET}&image=https%3A%2F%2Fexample.com%2Fa.png",
            OTPAuthURI("totp", "", "alice", SECRET),
        ),
        (
            f"otpauth://hotp/Acme:bob?secret={SECRET}&issuer=Acme&counter=0",
            OTPAuthURI("hotp", "Acme", "bob", SECRET, counter=0),
        ),
        (  # an imported 80-bit secret is kept as it was written
            f"otpauth://totp/Old:carol?secret={WEAK}&issuer=Old",
            OTPAuthURI("totp", "Old", "carol", WEAK),
        ),
        (
            f"otpauth://totp/%E6%97%A5%E6%9C%AC:%F0%9F%94%91?secret={SECRET}&issuer=%E6%97%A5%E6%9C%AC",
            OTPAuthURI("totp", "日本", "🔑", SECRET),
        ),
    ],
)
def test_parses_valid_uris(uri: str, expected: OTPAuthURI) -> None:
    parsed = parse_uri(uri)
    assert parsed == expected
    assert parse_uri(parsed.to_uri()) == parsed


def test_the_secret_is_kept_canonical() -> None:
    parsed = OTPAuthURI("totp", "Acme", "a", "jbsw y3dp ehpk 3pxp jbsw y3dp ehpk 3pxp")
    assert parsed.secret == SECRET
    assert parsed.decoded_secret().key == b"Hello!\xde\xad\xbe\xefHello!\xde\xad\xbe\xef"
    assert SECRET not in repr(parsed)


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        (f"https://totp/A:b?secret={SECRET}", "scheme must be otpauth"),
        (f"totp/A:b?secret={SECRET}", "scheme must be otpauth"),
        (f"otpauth://motp/A:b?secret={SECRET}", "type must be totp or hotp"),
        (f"otpauth://user@totp/A:b?secret={SECRET}", "type must be totp or hotp"),
        (f"otpauth://totp?secret={SECRET}", "no label"),
        (f"otpauth://totp/?secret={SECRET}", "no label"),
        (f"otpauth://totp/A:b:c?secret={SECRET}", "at most one colon"),
        (f"otpauth://totp/:b?secret={SECRET}", "empty issuer"),
        (f"otpauth://totp/A:?secret={SECRET}", "account must not be empty"),
        (f"otpauth://totp/A:%20%20?secret={SECRET}", "account must not be empty"),
        (f"otpauth://totp/A:b%07c?secret={SECRET}", "control characters"),
        (f"otpauth://totp/A:%FF?secret={SECRET}", "label is not valid UTF-8"),
        ("otpauth://totp/A:b?issuer=A", "no secret"),
        ("otpauth://totp/A:b", "no secret"),
        (f"otpauth://totp/A:b?secret={SECRET}&secret={SECRET}", "more than once"),
        (f"otpauth://totp/A:b?secret={SECRET}&digits=6&Digits=6", "more than once"),
        ("otpauth://totp/A:b?secret=", "is empty"),
        ("otpauth://totp/A:b?secret", "has no value"),
        ("otpauth://totp/A:b?secret=NOT-BASE32!", "not valid base32"),
        ("otpauth://totp/A:b?secret=JBSWY3DP", "at least 80"),
        (f"otpauth://totp/A:b?secret={SECRET}&issuer=B", "differs from the label"),
        (f"otpauth://totp/A:b?secret={SECRET}&issuer=%FF", "not valid UTF-8"),
        (f"otpauth://totp/A:b?secret={SECRET}&algorithm=MD5", "algorithm must be"),
        (f"otpauth://totp/A:b?secret={SECRET}&digits=10", "digits must be 6, 7 or 8"),
        (f"otpauth://totp/A:b?secret={SECRET}&digits=six", "decimal number"),
        (f"otpauth://totp/A:b?secret={SECRET}&digits=%D9%A6", "decimal number"),
        (f"otpauth://totp/A:b?secret={SECRET}&digits=-6", "decimal number"),
        (f"otpauth://totp/A:b?secret={SECRET}&period=0", "period must be"),
        (f"otpauth://totp/A:b?secret={SECRET}&period=301", "period must be"),
        (f"otpauth://totp/A:b?secret={SECRET}&counter=3", "counter applies only to hotp"),
        (f"otpauth://hotp/A:b?secret={SECRET}", "needs a counter"),
        (f"otpauth://hotp/A:b?secret={SECRET}&counter=1&period=30", "period applies only"),
        (f"otpauth://hotp/A:b?secret={SECRET}&counter=-1", "decimal number"),
        (f"otpauth://hotp/A:b?secret={SECRET}&counter={2**64}", "counter must be"),
        (f"otpauth://totp/A:b?secret={SECRET}#frag", "fragment"),
        ("otpauth://totp/A:b?secret=" + "A" * 5000, "longer than"),
    ],
)
def test_refuses_malformed_uris_with_a_clear_message(uri: str, message: str) -> None:
    with pytest.raises(InvalidURI, match=message):
        parse_uri(uri)


def test_refuses_non_strings() -> None:
    with pytest.raises(InvalidURI, match="must be a string"):
        parse_uri(b"otpauth://totp/A:b")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("issuer", "account", "message"),
    [
        ("A:B", "b", "issuer must not contain a colon"),
        ("A", "b:c", "account must not contain a colon"),
        ("A", "", "account must not be empty"),
        (" A", "b", "issuer must not start or end with whitespace"),
        ("A", "b ", "account must not start or end with whitespace"),
        ("A\x00", "b", "control characters"),
    ],
)
def test_build_refuses_bad_names(issuer: str, account: str, message: str) -> None:
    with pytest.raises(InvalidURI, match=message):
        build_uri(issuer, account, SECRET)


def test_build_refuses_bad_parameters() -> None:
    with pytest.raises(InvalidURI, match="digits"):
        build_uri("A", "b", SECRET, digits=5)
    with pytest.raises(InvalidURI, match="needs a counter"):
        build_uri("A", "b", SECRET, type="hotp")
    with pytest.raises(InvalidURI, match="counter applies only"):
        build_uri("A", "b", SECRET, counter=1)
    with pytest.raises(InvalidURI, match="period applies only"):
        build_uri("A", "b", SECRET, type="hotp", counter=1, period=60)
    with pytest.raises(InvalidURI, match="type must be"):
        build_uri("A", "b", SECRET, type="motp")  # type: ignore[arg-type]


names = st.text(
    st.characters(exclude_categories=("Cc", "Cs"), exclude_characters=":"),
    min_size=1,
    max_size=40,
).filter(lambda s: s == s.strip())


@st.composite
def otpauth_uris(draw: st.DrawFn) -> OTPAuthURI:
    kind: OTPType = draw(st.sampled_from(get_args(OTPType)))
    return OTPAuthURI(
        type=kind,
        issuer=draw(st.one_of(st.just(""), names)),
        account=draw(names),
        secret=draw(st.sampled_from([generate_secret(), generate_secret(256), WEAK])),
        algorithm=draw(st.sampled_from(ALGORITHMS)),
        digits=draw(st.integers(6, 8)),
        period=draw(st.integers(1, 300)) if kind == "totp" else 30,
        counter=draw(st.integers(0, 2**64 - 1)) if kind == "hotp" else None,
    )


@given(otpauth_uris())
def test_build_then_parse_is_lossless(value: OTPAuthURI) -> None:
    uri = value.to_uri()
    assert uri.isascii()
    assert parse_uri(uri) == value
    assert parse_uri(uri).to_uri() == uri
