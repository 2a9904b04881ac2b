"""Mailers that keep messages instead of sending them: a directory outbox and a memory list.

:class:`Outbox` is the development mailer. Each message is one JSON file written to a temp
name and renamed into place, so a reader (the dev mailbox page, another worker process)
sees a whole message or none, and several processes can share one directory with no lock.
File names start with the send time, so listing newest-first is a sort of names. Files are
created ``0600`` in a ``0700`` directory because they hold one-time codes and reset links.
"""

from __future__ import annotations

import builtins
import itertools
import json
import logging
import os
import re
import secrets
import tempfile
import threading
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from twostep.clock import Clock
from twostep.errors import MailError
from twostep.mail.base import Message

logger = logging.getLogger(__name__)

_ID = re.compile(r"\A[0-9]{20}-[0-9]{8}-[0-9a-f]{12}\Z")


@dataclass(frozen=True)
class StoredMessage:
    """A message as the outbox keeps it, with its id and the time it was sent."""

    id: str
    to: str
    subject: str
    text: str
    html: str | None
    tag: str
    sent_at: datetime


class Outbox:
    """A :class:`~twostep.mail.base.Mailer` that stores messages as files in ``directory``.

    Ids sort by send time, then by send order within one :class:`Outbox`; across processes,
    messages sent in the same microsecond are ordered arbitrarily.
    """

    def __init__(self, directory: Path, clock: Clock) -> None:
        self.directory = Path(directory)
        self._clock = clock
        self._sequence = itertools.count()
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Outbox({str(self.directory)!r})"

    def send(self, message: Message) -> None:
        """Store ``message``; raise :class:`~twostep.errors.MailError` if it cannot be written."""
        sent_at = self._clock.now().astimezone(UTC)
        with self._lock:
            sequence = next(self._sequence) % 10**8
        micros = int(sent_at.timestamp() * 1_000_000)
        message_id = f"{max(micros, 0):020d}-{sequence:08d}-{secrets.token_hex(6)}"
        record = {**asdict(message), "id": message_id, "sent_at": sent_at.isoformat()}
        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd, temp = tempfile.mkstemp(dir=self.directory, prefix=".", suffix=".tmp")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    json.dump(record, handle, ensure_ascii=False)
                os.replace(temp, self.directory / f"{message_id}.json")
            except BaseException:
                Path(temp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise MailError(f"cannot write to the outbox {self.directory}: {reason}") from None
        logger.info("mail stored tag=%s id=%s", message.tag or "-", message_id)

    def list(self, limit: int = 50) -> builtins.list[StoredMessage]:
        """The newest ``limit`` messages, newest first."""
        if limit <= 0:
            return []
        found: builtins.list[StoredMessage] = []
        for message_id in sorted(self._ids(), reverse=True):
            stored = self._load(message_id)
            if stored is not None:
                found.append(stored)
                if len(found) == limit:
                    break
        return found

    def get(self, message_id: str) -> StoredMessage | None:
        """The message with this id, or ``None`` (also for ids that are not outbox ids)."""
        if not _ID.match(message_id):
            return None
        return self._load(message_id)

    def clear(self) -> int:
        """Delete every stored message and return how many were removed."""
        removed = 0
        for message_id in self._ids():
            try:
                (self.directory / f"{message_id}.json").unlink()
            except FileNotFoundError:
                continue
            removed += 1
        return removed

    def _ids(self) -> builtins.list[str]:
        try:
            names = os.listdir(self.directory)
        except FileNotFoundError:
            return []
        return [name[:-5] for name in names if name.endswith(".json") and _ID.match(name[:-5])]

    def _load(self, message_id: str) -> StoredMessage | None:
        path = self.directory / f"{message_id}.json"
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
            return StoredMessage(
                id=message_id,
                to=str(record["to"]),
                subject=str(record["subject"]),
                text=str(record["text"]),
                html=None if record["html"] is None else str(record["html"]),
                tag=str(record["tag"]),
                sent_at=datetime.fromisoformat(record["sent_at"]),
            )
        except FileNotFoundError:
            return None
        except (ValueError, KeyError, TypeError):
            logger.warning("skipping unreadable outbox file %s", path.name)
            return None


class MemoryMailer:
    """A :class:`~twostep.mail.base.Mailer` that appends to :attr:`messages`; for tests.

    With ``failing=True`` every send raises :class:`~twostep.errors.MailError` instead, so
    callers can prove that a mail failure never loses the user's change.
    """

    def __init__(self, *, failing: bool = False) -> None:
        self.messages: builtins.list[Message] = []
        self.failing = failing
        self._lock = threading.Lock()

    def send(self, message: Message) -> None:
        """Keep ``message`` (or fail, when built with ``failing=True``)."""
        if self.failing:
            raise MailError("the memory mailer is set to fail")
        with self._lock:
            self.messages.append(message)

    def to(self, address: str) -> builtins.list[Message]:
        """Messages sent to ``address``, oldest first."""
        with self._lock:
            return [m for m in self.messages if m.to == address]

    def last(self, tag: str | None = None) -> Message:
        """The latest message (with ``tag``, if given); ``LookupError`` if there is none."""
        with self._lock:
            for message in reversed(self.messages):
                if tag is None or message.tag == tag:
                    return message
        raise LookupError(f"no message with tag {tag!r}" if tag else "no message was sent")

    def clear(self) -> None:
        """Forget every message."""
        with self._lock:
            self.messages.clear()
