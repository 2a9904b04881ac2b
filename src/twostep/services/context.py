"""What every use case needs, built once per app: store, clock, keys, mail and policy.

A service function takes a :class:`Context` and an :class:`Origin` (who is asking, for the
audit log). Building a context reads no global: :func:`build_context` takes the settings and
lets tests inject a clock, a mailer or a keyring.
"""

from __future__ import annotations

import heapq
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from twostep.clock import Clock, SystemClock
from twostep.config import Settings
from twostep.errors import MailError
from twostep.mail import (
    Mailer,
    Message,
    MessageFactory,
    TransientMailError,
    build_mailer,
    message_factory,
)
from twostep.otp.providers import EmailCodeProvider, OTPProvider, load_provider
from twostep.security import Keyring, PasswordHasher
from twostep.store import Database

log = logging.getLogger("twostep.services")


Channel = Literal["api", "page"]


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a request came from: recorded in audit rows and notification emails.

    ``channel`` is ``"api"`` (bearer and refresh tokens) or ``"page"`` (the browser's session
    cookie): a session opened on one channel is never accepted on the other.
    """

    ip: str | None = None
    user_agent: str | None = None
    channel: Channel = "api"


RETRY_DELAYS: tuple[float, ...] = (5.0, 30.0, 120.0, 300.0, 600.0)
"""Seconds before each retry of a transient mail failure: about 18 minutes in all, longer
than a typical greylisting delay or a mail-server restart, shorter than a reset link lives."""

MailObserver = Callable[[str, str], None]
"""``observe(tag, outcome)``: ``"retry"``, ``"failed"`` (given up) or ``"dropped"``."""


@dataclass(order=True)
class _Retry:
    due: float
    seq: int
    message: Message = field(compare=False)
    attempt: int = field(compare=False)


class MailQueue:
    """Mail leaves on one worker thread, after the request that caused it has its answer.

    Every request that may send mail hands exactly one item over: the message, or ``None``
    when the address gets nothing (unknown, cooling down). Both cost the same ``put`` on a
    bounded queue, so a request for a known address answers as fast as one for an unknown
    address (DESIGN §4.6): sending, slow by nature, happens after the answer. A full queue
    drops the message with a log line rather than make a request wait.

    ``deliver`` raises on failure. A :class:`~twostep.mail.TransientMailError` (a 4xx reply,
    a timeout, a refused connection) is tried again after each of ``retry_delays`` while
    other mail keeps flowing, so a short outage or a greylisting server loses nothing; any
    other failure, or the last retry, is logged at ERROR (``mail … failed for good``: alert
    on it) and reported to ``observe``. Log lines name the tag and the recipient's domain,
    never the body. ``clock`` and ``wait`` are seams for tests (monotonic seconds, and an
    idle wait that a ``put`` cuts short).
    """

    def __init__(
        self,
        deliver: Callable[[Message], object],
        *,
        capacity: int = 1000,
        retry_delays: Sequence[float] = RETRY_DELAYS,
        observe: MailObserver | None = None,
        clock: Callable[[], float] = time.monotonic,
        wait: Callable[[float], object] | None = None,
    ) -> None:
        self._deliver = deliver
        self._capacity = capacity
        self._queue: queue.Queue[Message | None | object] = queue.Queue(maxsize=capacity)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._retry_delays = tuple(retry_delays)
        self._observe = observe
        self._clock = clock
        self._bell = threading.Event()
        self._wait = wait or self._bell.wait
        self._retries: list[_Retry] = []
        self._seq = 0

    def put(self, message: Message | None) -> None:
        """Hand ``message`` (or ``None``, which sends nothing) to the worker; never blocks."""
        self._ensure_worker()
        try:
            self._queue.put_nowait(message)
        except queue.Full:
            if message is not None:
                log.warning(
                    "mail queue full: %s to @%s dropped", message.tag or "-", _domain(message)
                )
                self._report(message, "dropped")
        self._bell.set()

    def join(self) -> None:
        """Wait until everything handed over so far has been delivered or given up."""
        self._queue.join()

    def close(self) -> None:
        """Deliver what is queued, then stop the worker (a later ``put`` starts a new one).

        Messages still waiting for a retry are given up, each with a log line.
        """
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(_STOP)
            self._bell.set()
            thread.join()

    def _ensure_worker(self) -> None:
        if self._thread is not None:
            return
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, name="twostep-mail", daemon=True)
                self._thread.start()

    def _work(self) -> None:
        while True:
            self._bell.clear()
            try:
                item = self._queue.get_nowait() if self._retries else self._queue.get()
            except queue.Empty:
                due = self._retries[0].due - self._clock()
                if due <= 0:
                    retry = heapq.heappop(self._retries)
                    self._attempt(retry.message, retry.attempt)
                    continue
                self._wait(due)
                continue
            if item is _STOP:
                self._give_up_retries()
                self._queue.task_done()
                return
            if isinstance(item, Message):
                self._attempt(item, 0)
            else:
                self._queue.task_done()

    def _attempt(self, message: Message, attempt: int) -> None:
        """Try ``message``; on a transient failure schedule the next try, else finish it."""
        try:
            self._deliver(message)
        except TransientMailError as exc:
            if attempt < len(self._retry_delays) and len(self._retries) < self._capacity:
                delay = self._retry_delays[attempt]
                log.warning(
                    "mail %s to @%s failed (try %d), retrying in %gs: %s",
                    message.tag or "-", _domain(message), attempt + 1, delay, exc.message,
                )  # fmt: skip
                self._report(message, "retry")
                self._seq += 1
                heapq.heappush(
                    self._retries, _Retry(self._clock() + delay, self._seq, message, attempt + 1)
                )
                return
            self._failed(message, attempt, exc.message)
        except MailError as exc:
            self._failed(message, attempt, exc.message)
        except Exception as exc:  # the worker outlives any one message
            self._failed(message, attempt, type(exc).__name__)
        self._queue.task_done()

    def _failed(self, message: Message, attempt: int, reason: str) -> None:
        log.error(
            "mail %s to @%s failed for good after %d tries: %s",
            message.tag or "-", _domain(message), attempt + 1, reason,
        )  # fmt: skip
        self._report(message, "failed")

    def _give_up_retries(self) -> None:
        while self._retries:
            retry = heapq.heappop(self._retries)
            log.error(
                "mail %s to @%s given up at shutdown after %d tries",
                retry.message.tag or "-", _domain(retry.message), retry.attempt,
            )  # fmt: skip
            self._report(retry.message, "dropped")
            self._queue.task_done()

    def _report(self, message: Message, outcome: str) -> None:
        if self._observe is not None:
            try:
                self._observe(message.tag or "-", outcome)
            except Exception:  # a metric must never stop the mail
                log.exception("mail observer failed")


def _domain(message: Message) -> str:
    return message.to.rpartition("@")[2]


_STOP = object()


@dataclass(slots=True)
class Context:
    """The dependencies of every service call."""

    db: Database
    settings: Settings
    clock: Clock
    keyring: Keyring
    passwords: PasswordHasher
    mailer: Mailer
    messages: MessageFactory
    provider: OTPProvider
    email_codes: EmailCodeProvider = field(default_factory=EmailCodeProvider)
    mail_queue: MailQueue | None = None
    """When set (the web app), mail leaves in the background (see :class:`MailQueue`);
    otherwise :meth:`send` delivers at once (the command line, most tests)."""

    def send(self, message: Message | None) -> None:
        """Send ``message`` after the change it reports has been committed.

        ``None`` is the same hand-off with nothing to send: a request for an address that
        gets no mail passes it, so it does the same work as one that does. A mail failure
        never undoes the user's change and never reaches the caller: it is logged (tag and
        recipient domain only, never the body).
        """
        if self.mail_queue is not None:
            self.mail_queue.put(message)
        elif message is not None:
            self.deliver(message)

    def deliver(self, message: Message) -> bool:
        """Hand ``message`` to the mailer now; False (and a log line) when that fails."""
        domain = message.to.rpartition("@")[2]
        try:
            self.mailer.send(message)
        except MailError as exc:
            log.warning("mail %s to @%s failed: %s", message.tag, domain, exc.message)
            return False
        except Exception as exc:  # a custom mailer that breaks its contract
            log.warning("mail %s to @%s failed: %s", message.tag, domain, type(exc).__name__)
            return False
        return True


def load_keyring(settings: Settings) -> Keyring:
    """The configured keyring; in development, one generated on first start in the data dir.

    Settings already refused production without ``TWOSTEP_KEYRING``. What is checked here
    needs the file system, so it can only happen now: the keyring must be readable and whole
    (:meth:`Keyring.load` raises otherwise).
    """
    if settings.keyring:
        return Keyring.load(settings.keyring)
    assert settings.is_development  # noqa: S101 - Settings requires TWOSTEP_KEYRING in production
    path = Path(settings.data_dir) / "keyring.json"
    if not path.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        Keyring.generate(signing=True).save(path)
    keyring = Keyring.load(str(path))
    if keyring.signing_key_id is None:  # written before tokens were signed with the ring
        keyring = keyring.ensure_signing_key()
        keyring.save(path, overwrite=True)
    return keyring


def build_context(
    settings: Settings,
    *,
    db: Database | None = None,
    clock: Clock | None = None,
    mailer: Mailer | None = None,
    keyring: Keyring | None = None,
    passwords: PasswordHasher | None = None,
) -> Context:
    """Assemble a :class:`Context` from ``settings``; any part may be injected."""
    clock = clock or SystemClock()
    return Context(
        db=db
        or Database.from_url(
            settings.resolved_database_url, pool_size=settings.threads, max_overflow=4
        ),
        settings=settings,
        clock=clock,
        keyring=keyring or load_keyring(settings),
        passwords=passwords or PasswordHasher(concurrency=settings.hash_slots),
        mailer=mailer or build_mailer(settings, clock),
        messages=message_factory(settings),
        provider=load_provider(
            settings.otp_provider, environment=settings.env, window=settings.totp_window
        ),
    )
