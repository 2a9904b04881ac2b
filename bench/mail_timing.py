"""Forgot-password and email-code requests: known against unknown address, with and without
the mail queue.

No enumeration (DESIGN §4.6) asks that a request for a known address answer as fast as one
for an unknown address. The known address is the one that gets mail, and sending is slow,
so the web app hands mail to a background queue (``MailQueue``) and both paths make the
same hand-off. This script shows the difference that makes: the same requests on SQLite,
alternating known and unknown, through a mailer that takes ``--mail-ms`` per message (an
SMTP round trip), once delivered inline (as the command line does) and once queued (as the
web app does). It prints the medians and the known/unknown ratio; no target is checked.
What remains of the difference once mail is queued is the known path's own database work
(the reset link or code row it stores).

    uv run python bench/mail_timing.py [--rounds N] [--mail-ms MS]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from tempfile import TemporaryDirectory

from _setup import MACHINE_NOTE, PASSWORD, source_version, sqlite_database

from twostep.config import Settings
from twostep.mail import Message
from twostep.security import Keyring, PasswordHasher
from twostep.services import email_codes, reset
from twostep.services.context import Context, MailQueue, Origin, build_context
from twostep.store import users

KNOWN, UNKNOWN = "known@example.com", "unknown@example.com"
ORIGIN = Origin(ip="127.0.0.1", user_agent="bench")


class SlowMailer:
    """Takes ``seconds`` per message, like a round trip to an SMTP server."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def send(self, message: Message) -> None:
        if self.seconds > 0:  # sleep(0) still yields the processor: not free on a busy machine
            time.sleep(self.seconds)


def _context(url: str, data_dir: Path, mail_seconds: float) -> Context:
    settings = Settings(
        data_dir=data_dir,
        database_url=url,
        public_url="https://auth.example.test",
        email_code_cooldown_seconds=0,  # every request of the known address sends mail
    )
    ctx = build_context(
        settings,
        mailer=SlowMailer(mail_seconds),
        keyring=Keyring.generate(),
        passwords=PasswordHasher(),
    )
    with ctx.db.transaction() as tx:
        users.create(
            tx,
            email=KNOWN,
            password_hash=ctx.passwords.hash(PASSWORD),
            at=datetime.now(UTC),
            email_verified_at=datetime.now(UTC),
        )
    return ctx


def _medians(ctx: Context, call: Callable[[str], object], rounds: int) -> tuple[float, float]:
    known: list[float] = []
    unknown: list[float] = []
    for _ in range(rounds):
        for email, into in ((KNOWN, known), (UNKNOWN, unknown)):
            started = time.perf_counter()
            call(email)
            into.append(time.perf_counter() - started)
    return statistics.median(known), statistics.median(unknown)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--mail-ms", type=float, default=5.0)
    args = parser.parse_args()
    print(f"twostep {source_version()}; {MACHINE_NOTE}")
    print(f"{args.rounds} rounds, mail takes {args.mail_ms:g} ms, SQLite")
    print(f"{'flow':<12} {'mail':<8} {'known ms':>9} {'unknown ms':>11} {'ratio':>6}")
    with sqlite_database() as url, TemporaryDirectory() as tmp:
        ctx = _context(url, Path(tmp), args.mail_ms / 1000)
        flows: dict[str, Callable[[str], object]] = {
            "forgot": lambda email: reset.request_reset(ctx, email, ORIGIN),
            "email_code": lambda email: email_codes.request_code(ctx, email, "sign_in", ORIGIN),
        }
        for mode in ("inline", "queued"):
            ctx.mail_queue = (
                MailQueue(ctx.deliver, capacity=10 * args.rounds) if mode == "queued" else None
            )
            for name, call in flows.items():
                known, unknown = _medians(ctx, call, args.rounds)
                print(
                    f"{name:<12} {mode:<8} {known * 1000:>9.2f} {unknown * 1000:>11.2f} "
                    f"{known / unknown:>6.2f}"
                )
            if ctx.mail_queue is not None:
                ctx.mail_queue.close()
        ctx.db.dispose()


if __name__ == "__main__":
    main()
