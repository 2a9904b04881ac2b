"""The Message value, and one contract every Mailer implementation must meet."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.mail.conftest import ServerFactory, body
from twostep.clock import ManualClock
from twostep.mail import Mailer, MemoryMailer, Message, Outbox, SMTPMailer


@pytest.mark.parametrize(
    "fields",
    [
        {"to": ""},
        {"to": "   "},
        {"to": "a@example.com\r\nBcc: victim@example.com"},
        {"subject": "Hello\nBcc: victim@example.com"},
        {"tag": "x\ny"},
    ],
)
def test_message_refuses_header_injection_and_empty_recipients(fields: dict[str, str]) -> None:
    values = {"to": "a@example.com", "subject": "s", "text": "t", **fields}
    with pytest.raises(ValueError):
        Message(**values)


def test_message_is_an_immutable_value() -> None:
    message = Message(to="a@example.com", subject="s", text="t")
    assert message == Message(to="a@example.com", subject="s", text="t", html=None, tag="")
    with pytest.raises(AttributeError):
        message.subject = "changed"  # type: ignore[misc]


# --- the contract -----------------------------------------------------------------------


@dataclass
class Delivery:
    """A mailer and a way to read back the last message it delivered."""

    mailer: Mailer
    read_back: Callable[[], Message]


def _smtp(smtp_server: ServerFactory, tmp_path: Path) -> Delivery:
    server = smtp_server()
    mailer = SMTPMailer(server.host, server.port, from_address="t <t@example.com>")

    def read_back() -> Message:
        parsed = server.last()
        html = body(parsed, "html") if parsed.get_content_type() != "text/plain" else None
        return Message(
            to=str(parsed["To"]),
            subject=str(parsed["Subject"]),
            text=body(parsed, "plain"),
            html=html,
            tag=str(parsed.get("X-Twostep-Tag", "")),
        )

    return Delivery(mailer, read_back)


def _outbox(smtp_server: ServerFactory, tmp_path: Path) -> Delivery:
    outbox = Outbox(tmp_path / "outbox", ManualClock(datetime(2024, 1, 1, tzinfo=UTC)))

    def read_back() -> Message:
        stored = outbox.list(limit=1)[0]
        return Message(stored.to, stored.subject, stored.text, stored.html, stored.tag)

    return Delivery(outbox, read_back)


def _memory(smtp_server: ServerFactory, tmp_path: Path) -> Delivery:
    mailer = MemoryMailer()
    return Delivery(mailer, mailer.last)


@pytest.fixture(params=[_smtp, _outbox, _memory], ids=["smtp", "outbox", "memory"])
def delivery(
    request: pytest.FixtureRequest, smtp_server: ServerFactory, tmp_path: Path
) -> Delivery:
    make: Callable[[ServerFactory, Path], Delivery] = request.param
    return make(smtp_server, tmp_path)


SAMPLES = [
    Message("alice@example.com", "Plain", "Hello.\n"),
    Message("bob@example.com", "Both", "Text body\n", "<p>HTML &amp; body</p>\n", "tagged"),
    Message(
        "zoë@example.com",
        "Sécurité — 🔐 " + "long subject " * 10,
        "Grüße\n.starts with a dot\n" + "x" * 2000 + "\n",
        "<p>Grüße</p>\n",
        "unicode",
    ),
]


def test_is_a_mailer(delivery: Delivery) -> None:
    assert isinstance(delivery.mailer, Mailer)


@pytest.mark.parametrize("message", SAMPLES, ids=["plain", "alternative", "unicode"])
def test_delivers_the_message_faithfully(delivery: Delivery, message: Message) -> None:
    delivery.mailer.send(message)
    assert delivery.read_back() == message


def test_delivers_messages_in_turn(delivery: Delivery) -> None:
    for message in SAMPLES[:2]:
        delivery.mailer.send(message)
        assert delivery.read_back() == message


def test_never_logs_the_body(delivery: Delivery, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="twostep")
    delivery.mailer.send(Message("a@example.com", "Code", "Use 493817\n", "<p>493817</p>", "t"))

    ours = [r for r in caplog.records if r.name.startswith("twostep")]
    assert all("493817" not in r.getMessage() for r in ours)
