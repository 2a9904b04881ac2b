"""What every use case needs, built once per app: store, clock, keys, mail and policy.

A service function takes a :class:`Context` and an :class:`Origin` (who is asking, for the
audit log). Building a context reads no global: :func:`build_context` takes the settings and
lets tests inject a clock, a mailer or a keyring.
"""

from __future__ import annotations

import logging
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path

from twostep.clock import Clock, SystemClock
from twostep.config import Settings
from twostep.errors import ConfigurationError, MailError
from twostep.mail import Mailer, Message, MessageFactory, build_mailer, message_factory
from twostep.otp.providers import EmailCodeProvider, OTPProvider, load_provider
from twostep.security import Keyring, PasswordHasher
from twostep.store import Database

log = logging.getLogger("twostep.services")


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a request came from: recorded in audit rows and notification emails."""

    ip: str | None = None
    user_agent: str | None = None


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
    mail_executor: Executor | None = None
    """When set (the web app), mail leaves in the background: a request for a known address
    then takes as long as one for an unknown address, which sends nothing."""

    def send(self, message: Message) -> None:
        """Send ``message`` after the change it reports has been committed.

        A mail failure never undoes the user's change: it is logged (tag and recipient
        domain only, never the body).
        """
        if self.mail_executor is not None:
            self.mail_executor.submit(self.deliver, message)
        else:
            self.deliver(message)

    def deliver(self, message: Message) -> bool:
        """Hand ``message`` to the mailer now; False (and a log line) when that fails."""
        try:
            self.mailer.send(message)
        except MailError as exc:
            domain = message.to.rpartition("@")[2]
            log.warning("mail %s to @%s failed: %s", message.tag, domain, exc.message)
            return False
        return True


def load_keyring(settings: Settings) -> Keyring:
    """The configured keyring; in development, one generated on first start in the data dir."""
    if settings.keyring:
        return Keyring.load(settings.keyring)
    if not settings.is_development:
        raise ConfigurationError(
            "TWOSTEP_KEYRING is required in production: run 'twostep keys generate FILE'"
        )
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
        db=db or Database.from_url(settings.resolved_database_url),
        settings=settings,
        clock=clock,
        keyring=keyring or load_keyring(settings),
        passwords=passwords or PasswordHasher(),
        mailer=mailer or build_mailer(settings, clock),
        messages=message_factory(settings),
        provider=load_provider(
            settings.otp_provider, environment=settings.env, window=settings.totp_window
        ),
    )
