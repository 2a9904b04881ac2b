"""Every templated message: renders, says what happened, escapes, and leaks nothing."""

from __future__ import annotations

import doctest
import re
from collections.abc import Callable
from datetime import UTC, datetime
from importlib.resources import files

import jinja2
import pytest

from twostep.mail import EventContext, Message, MessageFactory, useragent
from twostep.mail.messages import _environment

ISSUER = "Acme Login"
PUBLIC = "https://auth.example.com"
CODE = "493817"
VERIFY_LINK = f"{PUBLIC}/verify?token=vrf_Zq81kLmN"
RESET_LINK = f"{PUBLIC}/password/reset?token=rst_Q9w8e7Yt"
AT = datetime(2024, 3, 1, 12, 30, tzinfo=UTC)
UNTIL = datetime(2024, 3, 1, 12, 45, tzinfo=UTC)
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:123.0) Gecko/20100101 Firefox/123.0"
EVENT = EventContext(at=AT, ip="203.0.113.7", user_agent=FIREFOX)
TO = "alice@example.com"

Build = Callable[[MessageFactory], Message]

BUILDERS: dict[str, Build] = {
    "email_verification": lambda f: f.email_verification(TO, CODE, VERIFY_LINK),
    "email_sign_in_code": lambda f: f.email_sign_in_code(TO, CODE, event=EVENT),
    "password_reset": lambda f: f.password_reset(TO, RESET_LINK, event=EVENT),
    "two_factor_enabled": lambda f: f.two_factor_enabled(TO, event=EVENT),
    "two_factor_disabled": lambda f: f.two_factor_disabled(TO, event=EVENT),
    "backup_code_used": lambda f: f.backup_code_used(TO, remaining=4, event=EVENT),
    "backup_codes_regenerated": lambda f: f.backup_codes_regenerated(TO, event=EVENT),
    "new_device": lambda f: f.new_device(TO, device_name="Pixel 8", event=EVENT),
    "account_locked": lambda f: f.account_locked(TO, until=UNTIL, event=EVENT),
    "password_changed": lambda f: f.password_changed(TO, event=EVENT),
    "password_reset_done": lambda f: f.password_reset_done(TO, event=EVENT),
    "two_factor_reset_by_admin": lambda f: f.two_factor_reset_by_admin(TO, event=EVENT),
    "email_change_code": lambda f: f.email_change_code(TO, CODE),
    "email_changed": lambda f: f.email_changed(TO, new_email="new.alice@example.org", event=EVENT),
    "email_in_use": lambda f: f.email_in_use(TO, event=EVENT),
}
# Which messages exist to deliver a code or a link, and which may therefore carry one.
CARRIES_CODE = {"email_verification", "email_sign_in_code", "email_change_code"}
CARRIES_LINK = {"email_verification": VERIFY_LINK, "password_reset": RESET_LINK}


@pytest.fixture
def factory() -> MessageFactory:
    return MessageFactory(ISSUER, PUBLIC + "/")


@pytest.fixture(params=sorted(BUILDERS))
def name(request: pytest.FixtureRequest) -> str:
    value: str = request.param
    return value


def _render(factory: MessageFactory, name: str) -> Message:
    return BUILDERS[name](factory)


def _flat(text: str) -> str:
    """Prose with the plain-text wrapping undone, for phrase checks."""
    return " ".join(text.split())


def _both(message: Message) -> str:
    assert message.html is not None
    return message.text + message.html


def test_renders_text_and_html(factory: MessageFactory, name: str) -> None:
    message = _render(factory, name)

    assert message.to == TO
    assert message.tag == name
    assert ISSUER in message.subject
    assert message.html is not None
    assert message.html.startswith("<!DOCTYPE html>")
    assert message.html.rstrip().endswith("</html>")
    assert message.text.strip() and "<p>" not in message.text
    for part in (message.text, message.html):
        assert "{{" not in part and "{%" not in part
        assert "None" not in part
        assert ISSUER in part


def test_says_what_to_do_if_it_was_not_them(factory: MessageFactory, name: str) -> None:
    message = _render(factory, name)
    advice = re.compile(r"wasn't you|weren't|did not (ask|try|create)")
    assert advice.search(message.text)
    assert message.html is not None and advice.search(message.html)


def test_codes_and_links_only_in_the_messages_that_deliver_them(
    factory: MessageFactory, name: str
) -> None:
    content = _render(factory, name).subject + _both(_render(factory, name))

    assert (CODE in content) == (name in CARRIES_CODE)
    for owner, link in CARRIES_LINK.items():
        token = link.rpartition("=")[2]
        assert (token in content) == (name == owner)


def test_codes_never_in_the_subject(factory: MessageFactory, name: str) -> None:
    assert CODE not in _render(factory, name).subject


@pytest.mark.parametrize(
    "event_name", sorted(set(BUILDERS) - {"email_verification", "email_change_code"})
)
def test_notifications_show_when_and_where(factory: MessageFactory, event_name: str) -> None:
    message = _render(factory, event_name)
    for part in (message.text, message.html or ""):
        assert "01 March 2024, 12:30 UTC" in part
        assert "203.0.113.7" in part
        assert "Firefox on Linux" in part and "as reported by the browser" in part
        assert "Gecko" not in part
    assert "Browser: Firefox on Linux (as reported by the browser)" in _flat(message.text)


def test_plain_text_wraps_prose_but_not_urls(factory: MessageFactory, name: str) -> None:
    for line in _render(factory, name).text.splitlines():
        assert len(line) <= 76 or "://" in line, line


def test_user_controlled_values_are_escaped_in_html(factory: MessageFactory) -> None:
    hostile = EventContext(at=AT, ip="203.0.113.7", user_agent='"><img src=x onerror=alert(1)>')
    message = factory.new_device(TO, device_name="<script>alert(1)</script>", event=hostile)

    assert message.html is not None
    assert "<script>" not in message.html
    assert "<img" not in message.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in message.html
    assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in message.html
    assert "<script>alert(1)</script>" in message.text  # plain text shows it as written


def test_issuer_is_escaped_in_html() -> None:
    message = MessageFactory("R&D <Login>", PUBLIC).password_changed(TO, event=EVENT)
    assert message.html is not None
    assert "R&amp;D &lt;Login&gt;" in message.html
    assert "R&D <Login>" in message.text


def test_user_controlled_values_are_one_bounded_line(factory: MessageFactory) -> None:
    sneaky = "Phone\u202e\r\nBcc: x\x00\t" + "A" * 300
    message = factory.new_device(
        TO, device_name=sneaky, event=EventContext(at=AT, user_agent="UA\n" + "b" * 500)
    )

    assert "\u202e" not in message.text and "\x00" not in message.text
    assert "Phone Bcc: x AAAA" in _flat(message.text)
    assert "A" * 64 not in message.text
    assert "b" * 120 not in message.text
    assert "…" in message.text


def test_blank_device_name_still_reads_well(factory: MessageFactory) -> None:
    message = factory.new_device(TO, device_name="  \n ", event=EVENT)
    assert '"unnamed device"' in _flat(message.text)


@pytest.mark.parametrize(
    ("remaining", "says"),
    [
        (0, "no backup codes left"),
        (1, "You have 1 backup code left. Consider creating new ones"),
        (3, "You have 3 backup codes left. Consider creating new ones"),
        (8, "You have 8 backup codes left. When:"),
    ],
)
def test_backup_code_used_counts_what_is_left(
    factory: MessageFactory, remaining: int, says: str
) -> None:
    text = factory.backup_code_used(TO, remaining=remaining, event=EVENT).text
    assert says in _flat(text)


def test_backup_code_used_refuses_a_negative_count(factory: MessageFactory) -> None:
    with pytest.raises(ValueError):
        factory.backup_code_used(TO, remaining=-1, event=EVENT)


def test_account_locked_says_until_when(factory: MessageFactory) -> None:
    message = factory.account_locked(TO, until=UNTIL, event=EVENT)
    assert "01 March 2024, 12:45 UTC" in _flat(message.text)
    assert message.html is not None and "01 March 2024, 12:45 UTC" in message.html


def test_expiry_is_stated(factory: MessageFactory) -> None:
    verification = factory.email_verification(TO, CODE, VERIFY_LINK, expires_minutes=15)
    assert "expire in 15 minutes" in _flat(verification.text)
    assert "expires in 60 minutes" in _flat(factory.password_reset(TO, RESET_LINK).text)


def test_optional_event_is_left_out_cleanly(factory: MessageFactory) -> None:
    message = factory.email_sign_in_code(TO, CODE)
    assert "When:" not in message.text
    assert message.html is not None and ">When<" not in message.html


@pytest.mark.parametrize(
    "link",
    [
        "https://evil.example/password/reset?token=x",
        "https://auth.example.com.evil.example/password/reset?token=x",
        "http://auth.example.com/password/reset?token=x",
        "/password/reset?token=x",
    ],
)
def test_links_must_point_under_the_public_url(factory: MessageFactory, link: str) -> None:
    with pytest.raises(ValueError, match="public URL"):
        factory.password_reset(TO, link)
    with pytest.raises(ValueError, match="public URL"):
        factory.email_verification(TO, CODE, link)


@pytest.mark.parametrize(
    ("issuer", "public_url"),
    [("", PUBLIC), ("Acme\nBcc: x", PUBLIC), (ISSUER, "auth.example.com"), (ISSUER, "ftp://x")],
)
def test_factory_refuses_bad_context(issuer: str, public_url: str) -> None:
    with pytest.raises(ValueError):
        MessageFactory(issuer, public_url)


def test_account_links_follow_the_configured_path() -> None:
    factory = MessageFactory(ISSUER, "https://example.com/auth", account_path="settings/security")
    text = factory.two_factor_disabled(TO, event=EVENT).text
    assert "https://example.com/auth/settings/security now" in _flat(text)


def test_every_shipped_template_is_used() -> None:
    shipped = {
        entry.name
        for entry in files("twostep.mail").joinpath("templates").iterdir()
        if not entry.name.startswith("_")
    }
    assert shipped == {f"{name}.{ext}" for name in BUILDERS for ext in ("txt", "html")}


def test_email_change_notice_masks_the_new_address() -> None:
    message = BUILDERS["email_changed"](MessageFactory(ISSUER, PUBLIC))
    assert "n***@example.org" in message.text
    assert "new.alice" not in message.text and "new.alice" not in (message.html or "")


def test_templates_are_strict_about_missing_values() -> None:
    with pytest.raises(jinja2.UndefinedError):
        _environment().get_template("new_device.txt").render(issuer=ISSUER)


@pytest.mark.parametrize(
    ("user_agent", "shown"),
    [
        (FIREFOX, "Firefox on Linux"),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/124.0.0.0 Safari/537.36",
            "Chrome on Windows",
        ),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.67",
            "Edge on Windows",
        ),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
            "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
            "Safari on iOS",
        ),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 "
            "(KHTML, like Gecko) Version/17.4 Safari/605.1.15",
            "Safari on macOS",
        ),
        (
            "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/124.0.0.0 Mobile Safari/537.36",
            "Chrome on Android",
        ),
        ("curl/8.5.0", "curl"),
        ("python-requests/2.31.0", "python-requests/2.31.0"),
        ("Firefox/1.0 Call +1 555 0100 at https://evil.example now", "Firefox"),
    ],
)
def test_user_agents_are_summarised(factory: MessageFactory, user_agent: str, shown: str) -> None:
    message = factory.password_changed(TO, event=EventContext(at=AT, user_agent=user_agent))
    assert f"Browser:  {shown} (as reported by the browser)" in message.text


@pytest.mark.parametrize(
    "user_agent",
    [
        "Evil/1.0 (+http://evil.example/reset; see www.evil.example)",
        "Agent HTTPS://EVIL.EXAMPLE/login?x=1 ftp://files.example.net",
        "Please verify at evil.example.com/verify or secure-login.example.org",
        "Bot/2.0 (compatible; mailto:help@evil.example; //evil.example/x)",
    ],
)
def test_user_agents_lose_anything_url_like(factory: MessageFactory, user_agent: str) -> None:
    message = factory.password_changed(TO, event=EventContext(at=AT, user_agent=user_agent))
    for part in (message.text, message.html or ""):
        shown = part.replace(PUBLIC, "")  # the genuine links to our own site stay
        assert "evil.example" not in shown.lower()
        assert "example.com" not in shown and "example.org" not in shown
        assert "example.net" not in shown
        assert "www." not in shown and "http" not in shown.lower()


def test_user_agents_are_printable_and_short(factory: MessageFactory) -> None:
    hostile = "\x1b[31mRed\x07 agent\u202e\u200b" + " word" * 40
    message = factory.password_changed(TO, event=EventContext(at=AT, user_agent=hostile))
    found = re.search(r"Browser: (.*?) \(as reported by the browser\)", _flat(message.text))
    assert found is not None
    shown = found.group(1)
    assert shown.startswith("[31mRed agent word")
    assert len(shown) <= 80 and shown.endswith("…")
    assert all(ch.isprintable() for ch in shown)


@pytest.mark.parametrize(
    ("ip", "shown"),
    [
        ("198.51.100.23", "198.51.100.23"),
        ("2001:DB8::1", "2001:db8::1"),
        ("203.0.113.9, 198.51.100.1", None),
        ("evil.example", None),
        ("unknown", None),
        ("Call +1 555 0100", None),
        (None, None),
    ],
)
def test_only_an_ip_address_is_shown(
    factory: MessageFactory, ip: str | None, shown: str | None
) -> None:
    message = factory.password_changed(TO, event=EventContext(at=AT, ip=ip, user_agent=FIREFOX))
    ip_lines = [line for line in message.text.splitlines() if line.startswith("IP:")]
    assert ip_lines == ([f"IP:       {shown}"] if shown else [])
    if ip and not shown:
        assert ip not in (message.html or "")


def test_useragent_docstring_examples_run() -> None:
    result = doctest.testmod(useragent)
    assert result.attempted > 0 and result.failed == 0
