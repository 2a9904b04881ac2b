"""Mail in the background: requests answer before the mailer runs, known address or not.

Nothing here measures time. The property behind equal timing is structural: a forgot-password
or email-code request hands exactly one item to the mail queue whatever the address, and
returns while the mailer is still blocked. Delivery happens afterwards, over real SMTP, and a
failing server neither undoes the change nor reaches the request.

Building a context trusts its Settings; only the keyring file is checked here, since only
reading it can tell whether it is there.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Literal

import pytest
from pydantic import SecretStr
from sqlalchemy import func, select

from tests.mail.conftest import Server, ServerFactory, free_port, smtp_server  # noqa: F401
from tests.services.conftest import ORIGIN
from twostep.config import Settings
from twostep.errors import KeyringError, MailError
from twostep.mail import Message, SMTPMailer
from twostep.security import Keyring
from twostep.services import email_codes, reset
from twostep.services.context import Context, MailQueue, build_context
from twostep.store import tables, users

KNOWN = "alice@example.com"
UNKNOWN = "nobody@example.com"
Flow = Literal["forgot", "email_code"]


class GateMailer:
    """A mailer that blocks until the test opens the gate."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.gate = threading.Event()
        self.delivered: list[Message] = []

    def send(self, message: Message) -> None:
        self.entered.set()
        if not self.gate.wait(timeout=30):
            raise MailError("the gate was never opened")
        self.delivered.append(message)


class CountingQueue(MailQueue):
    """A :class:`MailQueue` that remembers every hand-off, message or not."""

    def __init__(self, deliver: Callable[[Message], object], *, capacity: int = 1000) -> None:
        super().__init__(deliver, capacity=capacity)
        self.handed: list[Message | None] = []

    def put(self, message: Message | None) -> None:
        self.handed.append(message)
        super().put(message)


@pytest.fixture
def background(ctx: Context) -> Iterator[CountingQueue]:
    """``ctx`` with mail sent in the background, as the web app runs it."""
    mail_queue = CountingQueue(ctx.deliver)
    ctx.mail_queue = mail_queue
    yield mail_queue
    mail_queue.close()


def request(ctx: Context, flow: Flow, email: str) -> None:
    if flow == "forgot":
        reset.request_reset(ctx, email, ORIGIN)
    else:
        email_codes.request_code(ctx, email, "sign_in", ORIGIN)


@pytest.mark.parametrize("flow", ["forgot", "email_code"])
@pytest.mark.parametrize("email", [KNOWN, UNKNOWN])
def test_a_request_answers_before_the_mailer_runs(
    ctx: Context,
    background: CountingQueue,
    make_user: Callable[..., users.User],
    flow: Flow,
    email: str,
) -> None:
    make_user(KNOWN)
    gate = GateMailer()
    ctx.mailer = gate

    request(ctx, flow, email)  # returns although the mailer would block

    assert gate.delivered == []
    assert len(background.handed) == 1  # one hand-off for every address
    assert (background.handed[0] is not None) == (email == KNOWN)
    gate.gate.set()
    background.join()
    assert [m.to for m in gate.delivered] == ([KNOWN] if email == KNOWN else [])


@pytest.mark.parametrize("flow", ["forgot", "email_code"])
def test_mail_reaches_a_real_smtp_server_afterwards(
    ctx: Context,
    background: CountingQueue,
    make_user: Callable[..., users.User],
    smtp_server: ServerFactory,  # noqa: F811
    flow: Flow,
) -> None:
    server: Server = smtp_server()
    ctx.mailer = SMTPMailer(server.host, server.port, from_address="twostep <no-reply@x.test>")
    make_user(KNOWN)

    request(ctx, flow, KNOWN)
    request(ctx, flow, UNKNOWN)
    background.join()

    assert [r.rcpt_tos for r in server.received] == [[KNOWN]]
    expected = "Reset your" if flow == "forgot" else "sign-in code"
    assert expected in str(server.last()["Subject"])


def _reset_tokens(ctx: Context, user_id: str) -> int:
    with ctx.db.transaction(readonly=True) as tx:
        query = select(func.count()).select_from(tables.reset_tokens)
        count = tx.execute(query.where(tables.reset_tokens.c.user_id == user_id)).scalar_one()
    return int(count)


def test_a_failing_smtp_server_undoes_nothing_and_raises_nothing(
    ctx: Context,
    background: CountingQueue,
    make_user: Callable[..., users.User],
    smtp_server: ServerFactory,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = smtp_server(refuse=frozenset({KNOWN}))
    ctx.mailer = SMTPMailer(server.host, server.port, from_address="twostep <no-reply@x.test>")
    alice = make_user(KNOWN)
    bob = make_user("bob@example.com")

    with caplog.at_level(logging.WARNING, logger="twostep.services"):
        reset.request_reset(ctx, KNOWN, ORIGIN)  # refused by the server: no exception here
        reset.request_reset(ctx, bob.email, ORIGIN)  # the worker carries on
        background.join()

    assert _reset_tokens(ctx, alice.id) == 1  # the link was issued, the mail failed
    assert [r.rcpt_tos for r in server.received] == [[bob.email]]
    failures = [r.getMessage() for r in caplog.records if "failed" in r.getMessage()]
    assert len(failures) == 1 and "@example.com" in failures[0]
    assert "token=" not in caplog.text and KNOWN not in caplog.text


def test_an_unreachable_server_or_a_broken_mailer_never_reaches_the_request(
    ctx: Context, make_user: Callable[..., users.User]
) -> None:
    alice = make_user(KNOWN)
    ctx.mailer = SMTPMailer("127.0.0.1", free_port(), from_address="twostep <no-reply@x.test>")
    reset.request_reset(ctx, KNOWN, ORIGIN)  # delivered at once (no queue): logged, not raised

    class Broken:
        def send(self, message: Message) -> None:
            raise RuntimeError("a custom mailer that breaks its contract")

    ctx.mailer = Broken()
    email_codes.request_code(ctx, KNOWN, "sign_in", ORIGIN)
    assert _reset_tokens(ctx, alice.id) == 1


def test_a_full_queue_drops_mail_instead_of_making_the_request_wait(
    caplog: pytest.LogCaptureFixture,
) -> None:
    gate = GateMailer()
    mail_queue = MailQueue(gate.send, capacity=1)
    first, second, third = (Message(to=f"u{n}@example.com", subject="s", text="t") for n in "123")
    try:
        mail_queue.put(first)
        assert gate.entered.wait(timeout=30)  # the worker holds the first one
        mail_queue.put(second)  # fills the queue
        with caplog.at_level(logging.WARNING, logger="twostep.services"):
            mail_queue.put(third)  # returns at once, dropped
            mail_queue.put(None)  # nothing to drop, nothing to log
        gate.gate.set()
        mail_queue.join()
    finally:
        gate.gate.set()
        mail_queue.close()
    assert gate.delivered == [first, second]
    dropped = "mail queue full: - to @example.com dropped"
    assert [r.getMessage() for r in caplog.records] == [dropped]


def test_a_closed_queue_starts_again_when_used() -> None:
    delivered: list[Message] = []
    mail_queue = MailQueue(delivered.append)
    message = Message(to="a@example.com", subject="s", text="t")
    mail_queue.put(message)
    mail_queue.close()
    mail_queue.put(message)
    mail_queue.close()
    assert delivered == [message, message]


# --- building a context trusts Settings; only what needs the file system is checked here ---


def test_a_keyring_that_cannot_be_read_fails_when_the_context_is_built(tmp_path: Path) -> None:
    missing = tmp_path / "keyring.json"
    settings = Settings(
        env="production",
        data_dir=tmp_path,
        public_url="https://auth.example.test",
        keyring=str(missing),
        smtp_url=SecretStr("smtp+starttls://mail.example.test"),
    )  # Settings cannot know the file is missing
    with pytest.raises(KeyringError, match="does not exist"):
        build_context(settings)


def test_production_builds_from_its_settings_alone(tmp_path: Path) -> None:
    settings = Settings(
        env="production",
        data_dir=tmp_path,
        public_url="https://auth.example.test",
        keyring=Keyring.generate(signing=True).to_json(),
        smtp_url=SecretStr("smtp+starttls://mail.example.test"),
    )
    built = build_context(settings)
    assert isinstance(built.mailer, SMTPMailer)
    assert not (tmp_path / "keyring.json").exists()  # no development keyring appears
    built.db.dispose()
