"""The development outbox and the memory mailer."""

from __future__ import annotations

import functools
import json
import stat
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.support.concurrency import in_processes, named, together
from twostep.clock import ManualClock
from twostep.errors import MailError
from twostep.mail import MemoryMailer, Message, Outbox

START = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


def _message(n: int = 0, **overrides: str) -> Message:
    fields = {
        "to": f"user{n}@example.com",
        "subject": f"Subject {n}",
        "text": f"Text {n}\n",
        "html": f"<p>HTML {n}</p>\n",
        "tag": "test",
    }
    fields.update(overrides)
    return Message(**fields)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def outbox(tmp_path: Path, clock: ManualClock) -> Outbox:
    return Outbox(tmp_path / "outbox", clock)


def test_send_then_read_back(outbox: Outbox) -> None:
    outbox.send(_message(1, subject="Grüße — ✓"))

    (stored,) = outbox.list()
    assert (stored.to, stored.subject, stored.text, stored.html, stored.tag) == (
        "user1@example.com",
        "Grüße — ✓",
        "Text 1\n",
        "<p>HTML 1</p>\n",
        "test",
    )
    assert stored.sent_at == START
    assert outbox.get(stored.id) == stored


def test_text_only_message_keeps_html_none(outbox: Outbox) -> None:
    outbox.send(Message(to="a@example.com", subject="s", text="t"))
    (stored,) = outbox.list()
    assert stored.html is None
    assert stored.tag == ""


def test_newest_first_by_clock_then_by_send_order(outbox: Outbox, clock: ManualClock) -> None:
    outbox.send(_message(1))
    clock.advance(60)
    outbox.send(_message(2))
    outbox.send(_message(3))  # same instant as 2: send order breaks the tie
    clock.advance(1)
    outbox.send(_message(4))

    assert [m.subject for m in outbox.list()] == [
        "Subject 4",
        "Subject 3",
        "Subject 2",
        "Subject 1",
    ]
    assert [m.subject for m in outbox.list(limit=2)] == ["Subject 4", "Subject 3"]
    assert outbox.list(limit=0) == []
    assert outbox.list()[0].sent_at == START.replace(minute=1, second=1)


def test_list_defaults_to_fifty(outbox: Outbox) -> None:
    for n in range(55):
        outbox.send(_message(n))
    listed = outbox.list()
    assert len(listed) == 50
    assert listed[0].subject == "Subject 54"


def test_get_unknown_or_hostile_ids(outbox: Outbox) -> None:
    outbox.send(_message())
    (stored,) = outbox.list()
    missing = "9" * 20 + "-00000000-000000000000"

    assert outbox.get(missing) is None
    for hostile in ("../outbox/" + stored.id, stored.id + "/..", "", stored.id + ".json", "/etc/x"):
        assert outbox.get(hostile) is None


def test_clear(outbox: Outbox) -> None:
    for n in range(3):
        outbox.send(_message(n))
    assert outbox.clear() == 3
    assert outbox.list() == []
    assert outbox.clear() == 0
    outbox.send(_message(9))
    assert [m.subject for m in outbox.list()] == ["Subject 9"]


def test_empty_or_missing_directory(tmp_path: Path, clock: ManualClock) -> None:
    outbox = Outbox(tmp_path / "not-yet", clock)
    assert outbox.list() == []
    assert outbox.clear() == 0
    assert not (tmp_path / "not-yet").exists()


def test_files_are_private_and_whole(outbox: Outbox) -> None:
    outbox.send(_message())

    files = list(outbox.directory.iterdir())
    assert [f.suffix for f in files] == [".json"]  # no temp file left behind
    assert stat.S_IMODE(files[0].stat().st_mode) == 0o600
    assert stat.S_IMODE(outbox.directory.stat().st_mode) & 0o077 == 0
    assert json.loads(files[0].read_text(encoding="utf-8"))["subject"] == "Subject 0"


def test_foreign_and_broken_files_are_skipped(outbox: Outbox) -> None:
    outbox.send(_message())
    (outbox.directory / "notes.txt").write_text("hello")
    (outbox.directory / ".tmp-in-flight.tmp").write_text("{")
    (outbox.directory / f"{'0' * 20}-00000000-000000000000.json").write_text("{not json")

    assert [m.subject for m in outbox.list()] == ["Subject 0"]


def test_unwritable_directory_is_a_mail_error(tmp_path: Path, clock: ManualClock) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(MailError, match="outbox"):
        Outbox(blocker / "outbox", clock).send(_message())


def test_two_threads_sharing_a_directory(tmp_path: Path, clock: ManualClock) -> None:
    directory = tmp_path / "outbox"
    outboxes = [Outbox(directory, clock), Outbox(directory, clock)]

    def work(index: int) -> None:
        for n in range(100):
            outboxes[index].send(_message(index * 1000 + n, tag=f"worker{index}"))
            outboxes[1 - index].list(limit=5)  # reads while the other writes

    assert named(together([functools.partial(work, i) for i in range(2)])) == ["ok", "ok"]
    stored = outboxes[0].list(limit=500)
    assert len(stored) == 200
    assert len({m.id for m in stored}) == 200
    for index in range(2):
        mine = [m.subject for m in stored if m.tag == f"worker{index}"]
        # Within one outbox, later sends list first even at the same instant.
        assert mine == [f"Subject {index * 1000 + n}" for n in reversed(range(100))]


def _send_from_process(directory: str, worker: int, start: Any) -> None:
    outbox = Outbox(Path(directory), ManualClock(START))
    start.wait(timeout=60)
    for n in range(20):
        outbox.send(_message(worker * 100 + n))


def test_two_processes_sharing_a_directory(tmp_path: Path) -> None:
    assert in_processes(_send_from_process, [(str(tmp_path), w) for w in range(2)]) == [None] * 2
    stored = Outbox(tmp_path, ManualClock(START)).list(limit=100)
    assert sorted(m.subject for m in stored) == sorted(
        f"Subject {w * 100 + n}" for w in range(2) for n in range(20)
    )


# --- MemoryMailer -------------------------------------------------------------------------


def test_memory_mailer_keeps_messages_in_order() -> None:
    mailer = MemoryMailer()
    first, second = _message(1, tag="a"), _message(2, tag="b")
    mailer.send(first)
    mailer.send(second)

    assert mailer.messages == [first, second]
    assert mailer.last() == second
    assert mailer.last("a") == first
    assert mailer.to("user1@example.com") == [first]
    with pytest.raises(LookupError):
        mailer.last("missing")
    mailer.clear()
    with pytest.raises(LookupError):
        mailer.last()


def test_failing_memory_mailer_raises_mail_error() -> None:
    mailer = MemoryMailer(failing=True)
    with pytest.raises(MailError):
        mailer.send(_message())
    assert mailer.messages == []
