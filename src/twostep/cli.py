"""The ``twostep`` command line.

User mistakes print one clear line on stderr and exit with status 2; they never show a
traceback.
"""

from __future__ import annotations

import os
import sys
import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from twostep.config import Settings, load_settings
from twostep.errors import ConfigurationError, TwostepError
from twostep.settings_rules import is_loopback

app = typer.Typer(
    name="twostep",
    help="Self-hostable TOTP two-factor authentication.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


LOG_CONFIG: dict[str, object] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {
        "uvicorn": {"handlers": ["console"], "level": "INFO"},
        "twostep": {"handlers": ["console"], "level": "INFO"},
    },
}


def fail(message: str) -> None:
    """Print ``message`` on stderr, ``error:`` before each line, and exit with status 2."""
    for line in message.splitlines() or [""]:
        typer.echo(f"error: {line}", err=True)
    raise typer.Exit(2)


def settings(**values: Any) -> Settings:
    """The settings from the environment; a bad variable is one line each, then exit 2."""
    try:
        return load_settings(**values)
    except ConfigurationError as exc:
        fail(exc.message)
        raise  # unreachable: fail() exits


def server_options(host: str, port: int, workers: int = 1) -> dict[str, Any]:
    """The uvicorn options of ``twostep serve`` (also what the tests start the server with).

    uvicorn's proxy-header handling is off: by default it believes ``X-Forwarded-For`` from
    127.0.0.1 and rewrites the client address before twostep sees it. Only
    ``TWOSTEP_TRUSTED_PROXIES`` decides whose forwarded address is believed (see
    :mod:`twostep.web.client_ip`), so a forged header cannot dodge a per-address limit or
    put a made-up address in the audit log. The ``Server`` header is left out as well.
    """
    return {
        "app": "twostep.web.app:create_app",
        "factory": True,
        "host": host,
        "port": port,
        "workers": workers,
        "proxy_headers": False,
        "server_header": False,
        "log_level": "info",
        "access_log": False,  # twostep's own access log leaves query strings (tokens) out
        "log_config": LOG_CONFIG,
    }


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to bind.")] = None,
    workers: Annotated[
        int | None, typer.Option(min=1, help="Worker processes (default TWOSTEP_WORKERS, 1).")
    ] = None,
    allow_remote_dev: Annotated[
        bool,
        typer.Option(
            "--allow-remote-dev",
            help="Let development mode listen beyond loopback (it shows every mail it sends).",
        ),
    ] = False,
) -> None:
    """Start the twostep service (127.0.0.1:8000, SQLite in ./data by default)."""
    import uvicorn

    from twostep.services.context import build_context

    chosen: dict[str, Any] = {}  # the options override the environment
    if host:
        chosen["host"] = host
    if port:
        chosen["port"] = port
    if allow_remote_dev:
        chosen["allow_remote_dev"] = True
    if workers:
        chosen["workers"] = workers
    served = settings(**chosen)  # refuses development beyond loopback unless allowed
    bind_host, bind_port = served.host, served.port
    # The workers read their settings from the environment: hand them what was chosen here,
    # so development links (built from host and port) point at this server.
    os.environ["TWOSTEP_HOST"] = bind_host
    os.environ["TWOSTEP_PORT"] = str(bind_port)
    os.environ["TWOSTEP_WORKERS"] = str(served.workers)  # each sizes its share of the cores
    if allow_remote_dev:
        os.environ["TWOSTEP_ALLOW_REMOTE_DEV"] = "true"
    served.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:  # keyring file, CA file, OTP provider: a mistake is one line now, not a traceback
        build_context(served).db.dispose()
    except ConfigurationError as exc:
        fail(exc.message)
    typer.echo(banner(served, bind_host, bind_port))
    if served.is_development and not is_loopback(bind_host):
        typer.echo(f"warning: the dev mailbox is reachable from {bind_host}", err=True)
    uvicorn.run(**server_options(bind_host, bind_port, served.workers))


def banner(settings: Settings, host: str, port: int) -> str:
    """What ``twostep serve`` prints first: where it listens, where to go, where data is."""
    from sqlalchemy.engine import make_url

    from twostep import __version__

    listen = f"[{host}]" if ":" in host else host
    origin = settings.public_url.rstrip("/")
    database = make_url(settings.resolved_database_url).render_as_string(hide_password=True)
    lines = [
        f"twostep {__version__} ({settings.env}) listening on http://{listen}:{port}",
        f"  open        {origin}/",
        f"  API docs    {origin}/docs",
        f"  database    {database}",
    ]
    if settings.is_development:
        lines += [
            f"  data        {settings.data_dir.resolve()} (database, keyring, outbox)",
            f"  mailbox     {origin}/dev/mailbox (every mail sent in development)",
        ]
    elif settings.keyring and not settings.keyring.lstrip().startswith("{"):
        lines.append(f"  keyring     {settings.keyring}")
    lines.append("First admin: uv run twostep users create --admin you@example.com")
    return "\n".join(lines)


class HashName(StrEnum):
    sha1 = "sha1"
    sha256 = "sha256"
    sha512 = "sha512"


@app.command()
def code(
    secret: Annotated[str, typer.Argument(help="Base32 secret, or - to read it from stdin.")],
    at: Annotated[
        float | None, typer.Option("--at", help="Unix time (default: now).", show_default=False)
    ] = None,
    algorithm: Annotated[HashName, typer.Option(help="HMAC hash.")] = HashName.sha1,
    digits: Annotated[int, typer.Option(help="Code length, 6 to 8.")] = 6,
    period: Annotated[int, typer.Option(help="TOTP step in seconds.")] = 30,
    counter: Annotated[
        int | None, typer.Option(help="Print the HOTP code at this counter instead.")
    ] = None,
) -> None:
    """Print the current TOTP code (or an HOTP code) for SECRET, like oathtool."""
    from twostep.otp.hotp import check_algorithm, hotp
    from twostep.otp.secrets import decode_secret
    from twostep.otp.totp import totp

    if secret == "-":  # noqa: S105 - "-" means stdin, not a password
        secret = sys.stdin.readline().strip()
    key = decode_secret(secret, allow_weak=True).key
    alg = check_algorithm(algorithm.value)
    if counter is not None:
        typer.echo(hotp(key, counter, digits=digits, algorithm=alg))
    else:
        when = time.time() if at is None else at
        typer.echo(totp(key, when, digits=digits, algorithm=alg, period=period))


@app.command()
def qr(
    uri: Annotated[str, typer.Argument(help="An otpauth:// URI (or any text).")],
    png: Annotated[Path | None, typer.Option(help="Write a PNG image here.")] = None,
    svg: Annotated[Path | None, typer.Option(help="Write an SVG image here.")] = None,
) -> None:
    """Show URI as a QR code in the terminal, or write it as PNG/SVG."""
    from twostep.otp.qr import qr_png, qr_svg, qr_terminal
    from twostep.otp.uri import parse_uri

    if uri.startswith("otpauth:"):
        parse_uri(uri)  # refuse a malformed otpauth URI before an app scans it
    try:
        if png is not None:
            png.write_bytes(qr_png(uri))
        if svg is not None:
            svg.write_text(qr_svg(uri), encoding="utf-8")
    except OSError as exc:
        fail(f"cannot write the image: {exc.strerror} ({exc.filename})")
    if png is None and svg is None:
        typer.echo(qr_terminal(uri))


keys_app = typer.Typer(
    help="Manage the keyring that encrypts secrets at rest.", no_args_is_help=True
)
app.add_typer(keys_app, name="keys")


@keys_app.command("generate")
def keys_generate(
    path: Annotated[Path, typer.Argument(help="Where to write the new keyring (mode 0600).")],
    force: Annotated[bool, typer.Option(help="Overwrite an existing file.")] = False,
) -> None:
    """Write a new keyring file."""
    from twostep.security import Keyring

    if path.exists() and not force:
        fail(f"{path} already exists; pass --force to replace it")
    keyring = Keyring.generate(signing=True)
    keyring.save(path, overwrite=force)
    typer.echo(f"wrote keyring {path} (primary key {keyring.primary_key_id})")


@keys_app.command("rotate")
def keys_rotate(
    path: Annotated[Path, typer.Argument(help="The keyring file in use (TWOSTEP_KEYRING).")],
) -> None:
    """Add a new primary key to the keyring and re-encrypt every stored secret under it."""
    from twostep.security import Keyring
    from twostep.services.context import build_context
    from twostep.services.operations import rekey_secrets

    configured = settings()
    if not path.is_file():
        fail(f"{path} is not a keyring file")
    keyring = Keyring.load(path).rotated()
    keyring.save(path, overwrite=True)  # the old keys stay in the ring: nothing is unreadable
    report = rekey_secrets(build_context(configured, keyring=keyring))
    typer.echo(
        f"new primary key {report.primary_key_id}; re-encrypted {report.reencrypted} secrets"
    )
    typer.echo(f"the database now needs keyring key ids: {_key_list(db_key_ids(configured))}")
    typer.echo("back the keyring file up again: older database backups need its older keys")


def _key_list(key_ids: list[str]) -> str:
    return ", ".join(key_ids) or "none yet (no device enrolled)"


def db_key_ids(configured: Settings) -> list[str]:
    """Key ids the configured database's secrets are sealed with."""
    from twostep.services.maintenance import needed_key_ids
    from twostep.store import Database

    db = Database.from_url(configured.resolved_database_url)
    try:
        return needed_key_ids(db)
    finally:
        db.dispose()


KEYRING_WARNING = (
    "A database backup is useless without the keyring: TOTP secrets are encrypted with its "
    "keys and backup codes are hashed with its pepper. Back up the keyring file as well, "
    "and keep the two apart."
)


@app.command()
def backup(
    path: Annotated[Path, typer.Argument(help="The backup file to write (mode 0600).")],
) -> None:
    """Write a consistent copy of the SQLite database while the service runs."""
    from twostep.services.maintenance import backup_database
    from twostep.store import Database

    configured = settings()
    url = configured.resolved_database_url
    if not url.startswith("sqlite"):
        fail(
            "TWOSTEP_DATABASE_URL is PostgreSQL: back it up with "
            "'pg_dump --format=custom --file=FILE DATABASE' and restore with "
            "'pg_restore --clean --dbname=DATABASE FILE'; keep the keyring with it"
        )
    if path.exists():
        fail(f"{path} already exists; choose a new file name")
    db = Database.from_url(url)
    try:
        key_ids = backup_database(db, path)
    except OSError as exc:
        fail(f"cannot write the backup: {exc.strerror} ({exc.filename or path})")
        raise
    finally:
        db.dispose()
    typer.echo(f"wrote {path} (mode 0600)")
    typer.echo(f"it needs keyring key ids: {_key_list(key_ids)}")
    typer.echo(KEYRING_WARNING)


@app.command()
def restore(
    path: Annotated[Path, typer.Argument(help="A file written by 'twostep backup'.")],
    force: Annotated[bool, typer.Option(help="Replace a database that holds accounts.")] = False,
) -> None:
    """Put a backup in place of the SQLite database (stop the service first).

    The keyring (TWOSTEP_KEYRING, or keyring.json in the data directory) must hold every
    key the backup needs; otherwise nothing is changed.
    """
    from twostep.errors import KeyringError
    from twostep.security import Keyring
    from twostep.services.maintenance import missing_key_ids, needed_key_ids, restore_database
    from twostep.store import Database
    from twostep.store import migrate as migrations

    configured = settings()
    url = configured.resolved_database_url
    if not url.startswith("sqlite"):
        fail("TWOSTEP_DATABASE_URL is PostgreSQL: restore with 'pg_restore --clean'")
    if not path.is_file():
        fail(f"{path} is not a backup file")
    keyring_source = configured.keyring or str(configured.data_dir / "keyring.json")
    where = "TWOSTEP_KEYRING" if configured.keyring else keyring_source
    try:
        keyring = Keyring.load(keyring_source)
    except (OSError, KeyringError):
        fail(f"no usable keyring at {where}: restore the keyring backed up with the database")
        raise
    backup_db = Database.from_url(f"sqlite:///{path.resolve()}")
    try:
        needed = needed_key_ids(backup_db)
        missing = missing_key_ids(backup_db, keyring)
    except Exception:
        fail(f"{path} is not a twostep database backup")
        raise
    finally:
        backup_db.dispose()
    if missing:
        fail(
            f"the keyring lacks key ids {', '.join(missing)} that the backup needs; "
            "restore the keyring backed up with it"
        )
    configured.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    if migrations.current_revision(url) is not None and not force:
        fail("a database is already in place; pass --force to replace it")
    restore_database(path, url)
    migrations.upgrade(url)
    typer.echo(f"restored {path}; the database needs keyring key ids: {_key_list(needed)}")


@app.command()
def migrate() -> None:
    """Create or upgrade the database schema to this version."""
    from twostep.store import migrate as migrations

    configured = settings()
    configured.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    url = configured.resolved_database_url
    migrations.upgrade(url)
    typer.echo(f"database at revision {migrations.current_revision(url)}")


@app.command()
def purge(
    batch: Annotated[int, typer.Option(min=1, help="Rows deleted per transaction.")] = 500,
) -> None:
    """Delete expired challenges, codes, tokens, sessions, idle counters and old audit rows.

    The server does this by itself every few minutes; run it by hand after a long stop.
    """
    from twostep.services.context import build_context
    from twostep.services.maintenance import purge_if_free
    from twostep.services.operations import prepare_database

    configured = settings()
    ctx = build_context(configured)
    prepare_database(configured, ctx.db)
    report = purge_if_free(ctx, batch=batch)
    if report.skipped:
        typer.echo("another node is purging right now; nothing done")
        return
    typer.echo(f"purged {report.total} rows: {report.summary()}")


users_app = typer.Typer(help="Manage accounts.", no_args_is_help=True)
app.add_typer(users_app, name="users")


@users_app.command("create")
def users_create(
    email: Annotated[str, typer.Argument(help="The account's email address.")],
    admin: Annotated[bool, typer.Option("--admin", help="Give the account the admin role.")] = (
        False
    ),
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin.")
    ] = False,
) -> None:
    """Create a verified account; the first admin is made this way."""
    from twostep.services.context import build_context
    from twostep.services.operations import create_user, prepare_database

    configured = settings()
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    ctx = build_context(configured)
    prepare_database(configured, ctx.db)
    user = create_user(ctx, email, password, admin=admin)
    typer.echo(f"created {user.role} {user.email} ({user.id})")


from twostep.cli_rules import rules_app  # noqa: E402 - after the commands it sits beside

app.add_typer(rules_app, name="rules")


def main() -> None:
    """Entry point: run the CLI, turning twostep errors into one clear line."""
    try:
        app()
    except TwostepError as exc:
        for line in exc.message.splitlines():
            typer.echo(f"error: {line}", err=True)
        raise SystemExit(2) from None
