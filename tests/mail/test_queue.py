"""The background mail queue against a real SMTP server: transient failures are retried with
backoff while other mail flows, final failures are logged and counted.

Time is a fake: ``clock`` is a counter the queue's idle ``wait`` advances, so a retry
schedule of minutes runs in milliseconds.
"""

from __future__ import annotations

import logging
import threading

import pytest

from tests.mail.conftest import ServerFactory, free_port
from twostep.errors import MailError
from twostep.mail import Message, SMTPMailer, TransientMailError
from twostep.services.context import RETRY_DELAYS, MailQueue

SECRET_LINK = "https://auth.example.test/reset-password?token=s3cr3t-token"


class FakeTime:
    """A monotonic clock that moves only when the queue waits."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.waits: list[float] = []
        self._lock = threading.Lock()

    def clock(self) -> float:
        with self._lock:
            return self.now

    def wait(self, seconds: float) -> None:
        with self._lock:
            self.waits.append(seconds)
            self.now += seconds


def reset_mail(to: str = "alice@example.com") -> Message:
    return Message(to=to, subject="Reset", text=f"Open {SECRET_LINK}", tag="password_reset")


def mailer(port: int) -> SMTPMailer:
    return SMTPMailer("127.0.0.1", port, from_address="twostep <no-reply@example.com>", timeout=5)


def run(mail_queue: MailQueue, *messages: Message) -> None:
    try:
        for message in messages:
            mail_queue.put(message)
        mail_queue.join()
    finally:
        mail_queue.close()


def test_a_server_that_answers_451_twice_gets_the_mail_on_the_third_try(
    smtp_server: ServerFactory, caplog: pytest.LogCaptureFixture
) -> None:
    server = smtp_server(tempfail=2)
    fake = FakeTime()
    seen: list[tuple[str, str]] = []
    mail_queue = MailQueue(
        mailer(server.port).send,
        observe=lambda tag, outcome: seen.append((tag, outcome)),
        clock=fake.clock,
        wait=fake.wait,
    )
    with caplog.at_level(logging.WARNING, logger="twostep.services"):
        run(mail_queue, reset_mail())
    assert server.handler.data_replies == ["451", "451", "250"]
    assert len(server.received) == 1
    assert fake.waits == [RETRY_DELAYS[0], RETRY_DELAYS[1]]
    assert seen == [("password_reset", "retry"), ("password_reset", "retry")]
    retries = [r.getMessage() for r in caplog.records]
    assert retries[0] == (
        f"mail password_reset to @example.com failed (try 1), retrying in "
        f"{RETRY_DELAYS[0]:g}s: SMTP server 127.0.0.1:{server.port} answered 451"
    )
    assert all(r.levelno == logging.WARNING for r in caplog.records)
    assert SECRET_LINK not in caplog.text and "s3cr3t" not in caplog.text


def test_other_mail_flows_while_one_waits_for_its_retry(
    smtp_server: ServerFactory, caplog: pytest.LogCaptureFixture
) -> None:
    server = smtp_server(defer=frozenset({"busy@example.org"}))
    fake = FakeTime()
    seen: list[tuple[str, str]] = []
    mail_queue = MailQueue(
        mailer(server.port).send,
        retry_delays=(60, 120),
        observe=lambda tag, outcome: seen.append((tag, outcome)),
        clock=fake.clock,
        wait=fake.wait,
    )
    with caplog.at_level(logging.WARNING, logger="twostep.services"):
        run(mail_queue, reset_mail("busy@example.org"), reset_mail("bob@example.com"))
    assert [r.rcpt_tos for r in server.received] == [["bob@example.com"]]
    assert seen == [("password_reset", "retry")] * 2 + [("password_reset", "failed")]
    final = caplog.records[-1]
    assert final.levelno == logging.ERROR
    assert final.getMessage().startswith(
        "mail password_reset to @example.org failed for good after 3 tries: "
    )


def test_a_refused_connection_is_retried_then_given_up(caplog: pytest.LogCaptureFixture) -> None:
    nobody = mailer(free_port())
    with pytest.raises(TransientMailError, match="cannot reach"):
        nobody.send(reset_mail())
    fake = FakeTime()
    seen: list[str] = []
    mail_queue = MailQueue(
        nobody.send, retry_delays=(1, 2, 4), observe=lambda _t, o: seen.append(o),
        clock=fake.clock, wait=fake.wait,
    )  # fmt: skip
    with caplog.at_level(logging.WARNING, logger="twostep.services"):
        run(mail_queue, reset_mail())
    assert seen == ["retry", "retry", "retry", "failed"]
    assert fake.waits == [1, 2, 4]


def test_a_permanent_refusal_is_not_retried(
    smtp_server: ServerFactory, caplog: pytest.LogCaptureFixture
) -> None:
    server = smtp_server(refuse=frozenset({"gone@example.com"}))
    with pytest.raises(MailError) as raised:
        mailer(server.port).send(reset_mail("gone@example.com"))
    assert not isinstance(raised.value, TransientMailError)
    fake = FakeTime()
    seen: list[str] = []
    mail_queue = MailQueue(
        mailer(server.port).send, observe=lambda _t, o: seen.append(o),
        clock=fake.clock, wait=fake.wait,
    )  # fmt: skip
    with caplog.at_level(logging.WARNING, logger="twostep.services"):
        run(mail_queue, reset_mail("gone@example.com"))
    assert seen == ["failed"] and fake.waits == []
    assert "failed for good after 1 tries: SMTP server" in caplog.text
    assert "(550)" in caplog.text


def test_retries_still_pending_at_shutdown_are_given_up_with_a_log_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    entered = threading.Event()
    release = threading.Event()

    def down(message: Message) -> None:
        entered.set()
        raise TransientMailError("SMTP server mail.example.test:25 timed out after 10s")

    def never(seconds: float) -> None:
        release.wait(timeout=30)

    seen: list[str] = []
    mail_queue = MailQueue(down, observe=lambda _t, o: seen.append(o), wait=never)
    with caplog.at_level(logging.WARNING, logger="twostep.services"):
        mail_queue.put(reset_mail())
        assert entered.wait(timeout=30)
        closer = threading.Thread(target=mail_queue.close)
        closer.start()
        release.set()
        closer.join(timeout=30)
    assert not closer.is_alive()
    assert seen == ["retry", "dropped"]
    assert "given up at shutdown after 1 tries" in caplog.text
