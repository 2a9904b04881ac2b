"""The ``twostep`` command line.

User mistakes print one clear line on stderr and exit with status 2; they never show a
traceback.
"""

from __future__ import annotations

from typing import Annotated

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


def fail(message: str) -> None:
    """Print ``message`` as one line on stderr and exit with status 2."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to bind.")] = None,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
) -> None:
    """Start the twostep service (127.0.0.1:8000, SQLite in ./data by default)."""
    import uvicorn

    settings = Settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    bind_host = host or settings.host
    bind_port = port or settings.port
    typer.echo(f"twostep ({settings.env}) listening on http://{bind_host}:{bind_port}")
    uvicorn.run(
        "twostep.web.app:create_app",
        factory=True,
        host=bind_host,
        port=bind_port,
        workers=workers,
        log_level="info",
    )


def main() -> None:
    """Entry point: run the CLI, turning twostep errors into one clear line."""
    try:
        app()
    except TwostepError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise SystemExit(2) from None
