"""Helpers shared by the service tests: steps a test takes on the user's behalf.

Fixtures and the constants they need (``ORIGIN``, ``PASSWORD``, :func:`code_at`) live in
``conftest.py``; what a test calls by hand lives here, one copy for every module.
"""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from tests.services.conftest import ORIGIN, PASSWORD, code_at
from twostep.clock import ManualClock
from twostep.mail import Message
from twostep.services import enrollment, login, sessions, step_up
from twostep.services.context import Context
from twostep.store import sessions as session_store
from twostep.store.tables import metadata


def challenge_id(ctx: Context, email: str = "alice@example.com") -> str:
    """Pass the password step as ``email`` (with :data:`PASSWORD`); the challenge id."""
    result = login.login(ctx, email, PASSWORD, ORIGIN)
    assert isinstance(result, login.ChallengeIssued)
    return result.challenge_id


def mark_elevated(ctx: Context, principal: sessions.Principal) -> sessions.Principal:
    """Mark the session elevated, as the elevation service would after a fresh factor."""
    at = ctx.clock.now()
    with ctx.db.transaction() as tx:
        session_store.set_elevated_until(tx, principal.session.id, at + timedelta(minutes=15), at)
    return sessions.resolve(ctx, principal.session.id)


def elevate_now(
    ctx: Context, principal: sessions.Principal, secret: str, clock: ManualClock
) -> sessions.Principal:
    """Elevate ``principal`` with the current code and return it re-read (elevated).

    The principal is read again first, as each request reads it: it knows of devices added
    since it was read.
    """
    fresh = sessions.resolve(ctx, principal.session.id)
    step_up.step_up(ctx, fresh, ORIGIN, code=code_at(secret, clock))
    return sessions.resolve(ctx, principal.session.id)


def add_device(
    ctx: Context, principal: sessions.Principal, clock: ManualClock, name: str
) -> tuple[str, str]:
    """Enroll and confirm a device (elevate ``principal`` first if one is active); (id, secret)."""
    started = enrollment.begin(ctx, principal, name, ORIGIN)
    enrollment.confirm(ctx, principal, started.device_id, code_at(started.secret, clock), ORIGIN)
    return started.device_id, started.secret


def wrong_code(secret: str, clock: ManualClock) -> str:
    """A six-digit code that no step of the verification window accepts for ``secret``."""
    accepted = {code_at(secret, clock, offset) for offset in (-1, 0, 1)}
    return next(f"{n:06d}" for n in range(1_000_000) if f"{n:06d}" not in accepted)


def code_in(message: Message) -> str:
    """The 6-digit code shown on its own line in a mail."""
    found = re.search(r"^ {4}(\d{6})$", message.text, re.MULTILINE)
    assert found is not None, message.text
    return found.group(1)


def other_code(code: str) -> str:
    """A well-formed code that is not ``code``."""
    return f"{(int(code) + 1) % 1_000_000:06d}"


def dump_tables(ctx: Context) -> str:
    """Every row of every table as text, like a SQL dump would print it."""
    lines: list[str] = []
    with ctx.db.transaction(readonly=True) as tx:
        for table in metadata.sorted_tables:
            for row in tx.execute(select(table)):
                lines.append(f"{table.name}: {row!r}")
    return "\n".join(lines)
