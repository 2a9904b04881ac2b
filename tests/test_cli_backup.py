"""Backups restore: ``twostep backup`` of a live SQLite database, ``twostep restore`` into a
fresh data directory with the keyring beside it, and the user signs in with 2FA again.

Without the keyring the backup is refused at restore time, naming the key ids it needs.
"""

from __future__ import annotations

import shutil
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from twostep.cli import app as cli_app
from twostep.clock import ManualClock
from twostep.config import Settings
from twostep.mail import MemoryMailer
from twostep.otp import decode_secret, totp
from twostep.security import Keyring
from twostep.services import enrollment, login, sessions
from twostep.services.context import Context, Origin, build_context
from twostep.services.operations import create_user
from twostep.store import migrate

T0 = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
ORIGIN = Origin(ip="192.0.2.7", user_agent="pytest")
PASSWORD = "correct horse battery staple"


def context(data_dir: Path, clock: ManualClock) -> Context:
    return build_context(Settings(data_dir=data_dir), clock=clock, mailer=MemoryMailer())


def code(secret: str, clock: ManualClock) -> str:
    return totp(decode_secret(secret).key, clock.now().timestamp())


def test_a_backup_restores_into_a_fresh_data_directory_and_2fa_works(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = ManualClock(T0)
    first = tmp_path / "first"
    ctx = context(first, clock)
    migrate.upgrade(ctx.db)
    user = create_user(ctx, "alice@example.com", PASSWORD)
    with ctx.db.transaction() as tx:
        issued = sessions.start(tx, ctx, user, amr=["pwd"], at=clock.now(), origin=ORIGIN)
    principal = sessions.resolve(ctx, issued.session.id)
    started = enrollment.begin(ctx, principal, "Phone", ORIGIN)
    enrollment.confirm(ctx, principal, started.device_id, code(started.secret, clock), ORIGIN)
    key_id = ctx.keyring.primary_key_id

    runner = CliRunner()
    backup = tmp_path / "twostep-backup.sqlite3"
    monkeypatch.setenv("TWOSTEP_DATA_DIR", str(first))
    made = runner.invoke(cli_app, ["backup", str(backup)])  # the service is still "running"
    ctx.db.dispose()
    assert made.exit_code == 0, made.output
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    assert f"needs keyring key ids: {key_id}" in made.stdout
    assert "useless without the keyring" in made.stdout
    assert runner.invoke(cli_app, ["backup", str(backup)]).exit_code == 2  # never overwritten

    fresh = tmp_path / "fresh"
    monkeypatch.setenv("TWOSTEP_DATA_DIR", str(fresh))
    no_keyring = runner.invoke(cli_app, ["restore", str(backup)])
    assert no_keyring.exit_code == 2 and "no usable keyring" in no_keyring.stderr
    fresh.mkdir(mode=0o700)
    Keyring.generate(signing=True).save(fresh / "keyring.json")
    wrong_keyring = runner.invoke(cli_app, ["restore", str(backup)])
    assert wrong_keyring.exit_code == 2 and key_id in wrong_keyring.stderr
    assert not (fresh / "twostep.sqlite3").exists() or migrate.current_revision(
        f"sqlite:///{fresh / 'twostep.sqlite3'}"
    ) is None  # fmt: skip

    shutil.copy(first / "keyring.json", fresh / "keyring.json")
    restored = runner.invoke(cli_app, ["restore", str(backup)])
    assert restored.exit_code == 0, restored.output
    assert f"needs keyring key ids: {key_id}" in restored.stdout
    assert stat.S_IMODE((fresh / "twostep.sqlite3").stat().st_mode) == 0o600
    again = runner.invoke(cli_app, ["restore", str(backup)])
    assert again.exit_code == 2 and "--force" in again.stderr

    clock.advance(60)
    ctx2 = context(fresh, clock)
    challenge = login.login(ctx2, "alice@example.com", PASSWORD, ORIGIN)
    assert isinstance(challenge, login.ChallengeIssued)
    signed_in = login.complete(
        ctx2, challenge.challenge_id, ORIGIN, code=code(started.secret, clock)
    )
    assert signed_in.session.user_id == user.id
    ctx2.db.dispose()


def test_postgresql_backups_are_pg_dump(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TWOSTEP_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("TWOSTEP_DATABASE_URL", "postgresql://twostep@db.example.test/twostep")
    result = CliRunner().invoke(cli_app, ["backup", str(tmp_path / "x")])
    assert result.exit_code == 2
    assert "pg_dump" in result.stderr and "pg_restore" in result.stderr
    assert not (tmp_path / "x").exists()
