"""Fixtures for service tests: a full :class:`Context` on each database, with a manual clock.

Every test that takes ``ctx`` runs on SQLite and on PostgreSQL (through the ``db`` fixture).
Mail goes to a :class:`MemoryMailer`; the OTP provider is the production TOTP provider, and
codes are computed with :func:`code_at` from the secret an enrollment returned.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from twostep.clock import ManualClock
from twostep.config import Settings
from twostep.mail import MemoryMailer
from twostep.otp import decode_secret, totp
from twostep.security import Keyring, PasswordHasher
from twostep.services import enrollment, sessions
from twostep.services.context import Context, Origin, build_context
from twostep.store import Database, users

T0 = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
ORIGIN = Origin(ip="203.0.113.7", user_agent="pytest-browser/1.0")
PASSWORD = "correct horse battery staple"


def code_at(secret: str, clock: ManualClock, offset_steps: int = 0) -> str:
    """The code an authenticator app shows for ``secret`` now (plus ``offset_steps``)."""
    at = clock.now().timestamp() + 30 * offset_steps
    return totp(decode_secret(secret).key, at)


@pytest.fixture(scope="session")
def keyring() -> Keyring:
    return Keyring.generate()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def mailer() -> MemoryMailer:
    return MemoryMailer()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, public_url="https://auth.example.test")


@pytest.fixture
def ctx(
    db: Database,
    settings: Settings,
    clock: ManualClock,
    mailer: MemoryMailer,
    keyring: Keyring,
) -> Context:
    return build_context(
        settings, db=db, clock=clock, mailer=mailer, keyring=keyring, passwords=PasswordHasher()
    )


@pytest.fixture
def make_user(ctx: Context) -> Callable[..., users.User]:
    """Create an active, verified user with :data:`PASSWORD` (or the given one)."""

    def make(email: str = "alice@example.com", password: str = PASSWORD, **kw: Any) -> users.User:
        with ctx.db.transaction() as tx:
            user = users.create(
                tx,
                email=email,
                password_hash=ctx.passwords.hash(password),
                at=ctx.clock.now(),
                email_verified_at=ctx.clock.now(),
                **kw,
            )
        assert user is not None
        return user

    return make


@pytest.fixture
def principal_for(ctx: Context) -> Callable[[users.User], sessions.Principal]:
    """Sign ``user`` in without 2FA (a full session) and return the principal."""

    def sign_in(user: users.User) -> sessions.Principal:
        with ctx.db.transaction() as tx:
            issued = sessions.start(tx, ctx, user, amr=["pwd"], at=ctx.clock.now(), origin=ORIGIN)
        return sessions.resolve(ctx, issued.session.id)

    return sign_in


@pytest.fixture
def enrolled(
    ctx: Context,
    clock: ManualClock,
    make_user: Callable[..., users.User],
    principal_for: Callable[[users.User], sessions.Principal],
) -> Enrolled:
    """A user with one confirmed device, its secret and its backup codes."""
    user = make_user()
    principal = principal_for(user)
    started = enrollment.begin(ctx, principal, "Phone", ORIGIN)
    confirmed = enrollment.confirm(
        ctx, principal, started.device_id, code_at(started.secret, clock), ORIGIN
    )
    assert confirmed.backup_codes is not None
    clock.advance(30)  # the confirming step is burned; move to a fresh one
    return Enrolled(user, started.secret, started.device_id, confirmed.backup_codes)


@dataclass(frozen=True)
class Enrolled:
    user: users.User
    secret: str
    device_id: str
    backup_codes: list[str]
