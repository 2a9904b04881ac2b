"""The ``twostep`` command line.

User mistakes print one clear line on stderr and exit with status 2; they never show a
traceback.
"""

from __future__ import annotations

import ipaddress
import sys
import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from twostep.config import Settings
from twostep.errors import TwostepError

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
    """Print ``message`` as one line on stderr and exit with status 2."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses; any other name or address is remote."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


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
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
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

    settings = Settings()
    bind_host = host or settings.host
    bind_port = port or settings.port
    if settings.is_development and not is_loopback(bind_host) and not allow_remote_dev:
        fail(
            f"development mode serves its mailbox (every code and link) to anyone who reaches "
            f"{bind_host}; bind a loopback address, set TWOSTEP_ENV=production, "
            "or pass --allow-remote-dev"
        )
    settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    typer.echo(f"twostep ({settings.env}) on http://{bind_host}:{bind_port}")
    if settings.is_development:
        typer.echo(
            "development mode: database and keyring in "
            f"{settings.data_dir.resolve()}, mail goes to the outbox there.\n"
            "Create the first admin with: twostep users create --admin you@example.com"
        )
        if not is_loopback(bind_host):
            typer.echo(f"warning: the dev mailbox is reachable from {bind_host}", err=True)
    uvicorn.run(**server_options(bind_host, bind_port, workers))


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

    if not path.is_file():
        fail(f"{path} is not a keyring file")
    keyring = Keyring.load(path).rotated()
    keyring.save(path, overwrite=True)  # the old keys stay in the ring: nothing is unreadable
    report = rekey_secrets(build_context(Settings(), keyring=keyring))
    typer.echo(
        f"new primary key {report.primary_key_id}; re-encrypted {report.reencrypted} secrets"
    )


@app.command()
def migrate() -> None:
    """Create or upgrade the database schema to this version."""
    from twostep.store import migrate as migrations

    settings = Settings()
    settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    url = settings.resolved_database_url
    migrations.upgrade(url)
    typer.echo(f"database at revision {migrations.current_revision(url)}")


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

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    settings = Settings()
    ctx = build_context(settings)
    prepare_database(settings, ctx.db)
    user = create_user(ctx, email, password, admin=admin)
    typer.echo(f"created {user.role} {user.email} ({user.id})")


def main() -> None:
    """Entry point: run the CLI, turning twostep errors into one clear line."""
    try:
        app()
    except TwostepError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise SystemExit(2) from None
