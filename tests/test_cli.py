"""The command line, run as a real process: exit codes, output, and one-line errors."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
import uvicorn
from sqlalchemy import create_engine, select
from typer.testing import CliRunner

from tests.support.tools import need_binary
from tests.support.waiting import wait_for
from twostep.cli import app as cli_app
from twostep.cli import server_options
from twostep.clock import SystemClock
from twostep.config import load_settings
from twostep.mail.outbox import Outbox
from twostep.otp.uri import parse_uri
from twostep.security import Keyring
from twostep.store.tables import audit_events

RFC_SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"  # b"12345678901234567890"


def twostep(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "twostep", *args],
        capture_output=True,
        text=True,
        input=stdin,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--at", "59", "--digits", "8"], "94287082"),
        (["--at", "1111111109", "--digits", "8"], "07081804"),
        (["--counter", "0"], "755224"),
        (["--counter", "9"], "520489"),
    ],
)
def test_code_prints_rfc_values(args: list[str], expected: str) -> None:
    result = twostep("code", RFC_SECRET, *args)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == expected


def test_code_reads_the_secret_from_stdin() -> None:
    result = twostep("code", "-", "--at", "59", "--digits", "8", stdin=RFC_SECRET + "\n")
    assert result.stdout.strip() == "94287082"


@pytest.mark.interop
def test_code_agrees_with_oathtool() -> None:
    oathtool = need_binary("oathtool")
    secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    for algorithm, at in [("sha1", 1_700_000_000), ("sha256", 2_000_000_000), ("sha512", 59)]:
        ours = twostep("code", secret, "--at", str(at), "--algorithm", algorithm, "--digits", "7")
        theirs = subprocess.run(
            [oathtool, f"--totp={algorithm}", "-b", "-d", "7", "-N", f"@{at}", secret],
            capture_output=True,
            text=True,
            check=True,
        )
        assert ours.stdout.strip() == theirs.stdout.strip()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["code", "not base32!"], "base32"),
        (["code", RFC_SECRET, "--digits", "9"], "digits"),
        (["code", RFC_SECRET, "--period", "0"], "period"),
        (["qr", "otpauth://totp/A:b?secret=X"], "error:"),
    ],
)
def test_user_mistakes_print_one_line_and_exit_2(args: list[str], message: str) -> None:
    result = twostep(*args)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and message in lines[0]


def test_qr_writes_png_and_svg(tmp_path: Path) -> None:
    uri = f"otpauth://totp/Example:alice%40example.com?secret={RFC_SECRET}&issuer=Example"
    png, svg = tmp_path / "code.png", tmp_path / "code.svg"
    result = twostep("qr", uri, "--png", str(png), "--svg", str(svg))
    assert result.returncode == 0, result.stderr
    assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert "<svg" in svg.read_text()
    assert parse_uri(uri).account == "alice@example.com"


def test_qr_prints_to_the_terminal() -> None:
    result = twostep("qr", f"otpauth://totp/Example:bob?secret={RFC_SECRET}&issuer=Example")
    assert result.returncode == 0
    assert len(result.stdout.splitlines()) > 10


def test_qr_reports_an_unwritable_file(tmp_path: Path) -> None:
    result = twostep("qr", "hello", "--png", str(tmp_path / "missing" / "x.png"))
    assert result.returncode == 2
    assert "cannot write" in result.stderr and "Traceback" not in result.stderr


def test_keys_generate_writes_a_private_keyring(tmp_path: Path) -> None:
    path = tmp_path / "keyring.json"
    result = twostep("keys", "generate", str(path))
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    keyring = Keyring.load(str(path))
    assert keyring.primary_key_id in result.stdout
    assert json.loads(path.read_text())["keys"]

    again = twostep("keys", "generate", str(path))
    assert again.returncode == 2 and "--force" in again.stderr
    assert Keyring.load(str(path)).primary_key_id == keyring.primary_key_id

    forced = twostep("keys", "generate", str(path), "--force")
    assert forced.returncode == 0
    assert Keyring.load(str(path)).primary_key_id != keyring.primary_key_id


def test_migrate_then_create_the_first_admin(tmp_path: Path) -> None:
    env = {**os.environ, "TWOSTEP_DATA_DIR": str(tmp_path / "data")}

    def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "twostep", *args],
            capture_output=True,
            text=True,
            input=stdin,
            env=env,
            timeout=60,
            check=False,
            umask=0o022,  # the usual default, which the data directory must not inherit
        )

    migrated = run("migrate")
    assert migrated.returncode == 0, migrated.stderr
    data = tmp_path / "data"
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert stat.S_IMODE((data / "twostep.sqlite3").stat().st_mode) == 0o600
    assert "revision" in migrated.stdout
    created = run("users", "create", "Admin@Example.com", "--admin", "--password-stdin",
                  stdin="a long admin passphrase\n")  # fmt: skip
    assert created.returncode == 0, created.stderr
    assert "created admin admin@example.com" in created.stdout
    duplicate = run(
        "users", "create", "admin@example.com", "--password-stdin", stdin="another passphrase\n"
    )
    assert duplicate.returncode == 2 and "already exists" in duplicate.stderr
    rotated = run("keys", "rotate", str(tmp_path / "data" / "keyring.json"))
    assert rotated.returncode == 0, rotated.stderr
    assert "re-encrypted 0 secrets" in rotated.stdout
    assert "the database now needs keyring key ids: none yet" in rotated.stdout


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    """``twostep serve`` as a real process on a free loopback port; its base URL."""
    port = _free_port()
    env = {
        **os.environ,
        "TWOSTEP_ENV": "development",
        "TWOSTEP_DATA_DIR": str(tmp_path / "data"),
        "TWOSTEP_LOGIN_RATE_PER_MINUTE": "2",
        "FORWARDED_ALLOW_IPS": "*",  # uvicorn's own switch: it must not matter either
    }
    env.pop("TWOSTEP_TRUSTED_PROXIES", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "twostep", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        assert process.poll() is None, "twostep serve exited"
        try:
            return httpx.get(f"{base}/healthz", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_for(healthy, timeout=60, failure="twostep serve did not start")
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_serve_ignores_x_forwarded_for_without_trusted_proxies(served: str, tmp_path: Path) -> None:
    """A client on 127.0.0.1 rotating X-Forwarded-For stays 127.0.0.1: limited and audited."""
    statuses = []
    for n in range(3):
        response = httpx.post(
            f"{served}/api/v1/auth/password/forgot",
            json={"email": f"nobody{n}@example.com"},
            headers={"X-Forwarded-For": f"203.0.113.{n + 1}"},
            timeout=30,
        )
        statuses.append(response.status_code)
        assert "server" not in response.headers
    assert statuses == [202, 202, 429]

    engine = create_engine(f"sqlite:///{tmp_path / 'data' / 'twostep.sqlite3'}")
    with engine.connect() as conn:
        ips = conn.execute(
            select(audit_events.c.ip).where(audit_events.c.event == "password.reset_requested")
        ).scalars()
        assert [str(ip) for ip in ips] == ["127.0.0.1", "127.0.0.1"]
    engine.dispose()


def test_server_options_leave_forwarded_headers_to_twostep() -> None:
    config = uvicorn.Config(**server_options("127.0.0.1", 8000))
    assert config.proxy_headers is False
    assert config.server_header is False


@pytest.fixture
def uvicorn_runs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[dict[str, Any]]:
    """Calls ``serve`` would make to uvicorn, recorded instead of starting a server."""
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda **options: calls.append(options))
    monkeypatch.setenv("TWOSTEP_DATA_DIR", str(tmp_path / "data"))
    for name in ("TWOSTEP_HOST", "TWOSTEP_PORT", "TWOSTEP_PUBLIC_URL", "TWOSTEP_ALLOW_REMOTE_DEV"):
        monkeypatch.setenv(name, "")  # recorded, so what serve sets for its workers is undone
        monkeypatch.delenv(name)
    return calls


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.10", "auth.example.test"])  # noqa: S104
def test_development_refuses_to_serve_beyond_loopback(
    uvicorn_runs: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch, host: str
) -> None:
    monkeypatch.setenv("TWOSTEP_ENV", "development")
    result = CliRunner().invoke(cli_app, ["serve", "--host", host])
    assert result.exit_code == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "--allow-remote-dev" in lines[0]
    assert uvicorn_runs == []


def test_development_serves_beyond_loopback_only_when_forced(
    uvicorn_runs: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TWOSTEP_ENV", "development")
    monkeypatch.setenv("TWOSTEP_HOST", "0.0.0.0")  # noqa: S104
    assert CliRunner().invoke(cli_app, ["serve"]).exit_code == 2
    forced = CliRunner().invoke(cli_app, ["serve", "--allow-remote-dev"])
    assert forced.exit_code == 0, forced.output
    assert "warning" in forced.stderr
    assert [call["host"] for call in uvicorn_runs] == ["0.0.0.0"]  # noqa: S104
    assert load_settings().allow_remote_dev  # what the workers read from the environment


def test_the_host_option_overrides_the_environment(
    uvicorn_runs: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TWOSTEP_ENV", "development")
    monkeypatch.setenv("TWOSTEP_HOST", "0.0.0.0")  # noqa: S104
    result = CliRunner().invoke(cli_app, ["serve", "--host", "127.0.0.1"])
    assert result.exit_code == 0, result.output
    assert [call["host"] for call in uvicorn_runs] == ["127.0.0.1"]


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_development_serves_on_loopback(
    uvicorn_runs: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch, host: str
) -> None:
    monkeypatch.setenv("TWOSTEP_ENV", "development")
    result = CliRunner().invoke(cli_app, ["serve", "--host", host, "--port", "8123"])
    assert result.exit_code == 0, result.output
    assert [(call["host"], call["port"]) for call in uvicorn_runs] == [(host, 8123)]


def test_production_serves_on_any_address(
    uvicorn_runs: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TWOSTEP_ENV", "production")
    monkeypatch.setenv("TWOSTEP_PUBLIC_URL", "https://auth.example.test")
    monkeypatch.setenv("TWOSTEP_SMTP_URL", "smtp+starttls://mail.example.test")
    keyring = tmp_path / "keyring.json"
    Keyring.generate(signing=True).save(keyring)
    monkeypatch.setenv("TWOSTEP_KEYRING", str(keyring))
    result = CliRunner().invoke(cli_app, ["serve", "--host", "0.0.0.0"])  # noqa: S104
    assert result.exit_code == 0, result.output
    assert [call["host"] for call in uvicorn_runs] == ["0.0.0.0"]  # noqa: S104


def test_serve_builds_links_for_the_port_it_serves(served: str, tmp_path: Path) -> None:
    """``twostep serve --port N`` in development: mail links point at port N, not 8000."""
    response = httpx.post(
        f"{served}/api/v1/auth/register",
        json={"email": "port@example.com", "password": "a long enough passphrase"},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    outbox = Outbox(tmp_path / "data" / "outbox", SystemClock())
    found = wait_for(
        lambda: [m for m in outbox.list(10) if m.to == "port@example.com"],
        timeout=20,
        failure="no verification mail",
    )
    assert f"{served}/verify-email?token=" in found[0].text


def test_serve_prints_where_to_go_and_what_to_run(
    uvicorn_runs: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TWOSTEP_ENV", "development")
    result = CliRunner().invoke(cli_app, ["serve", "--port", "8001"])
    assert result.exit_code == 0, result.output
    assert "http://127.0.0.1:8001/\n" in result.stdout
    assert "http://127.0.0.1:8001/dev/mailbox" in result.stdout
    assert str((tmp_path / "data").resolve()) in result.stdout
    assert "uv run twostep users create --admin" in result.stdout
    assert os.environ["TWOSTEP_PORT"] == "8001"  # what the worker builds its links from


@pytest.mark.parametrize(
    ("command", "variable", "value"),
    [
        (["migrate"], "TWOSTEP_TRUSTED_PROXIES", "nope"),
        (["migrate"], "TWOSTEP_PORT", "eighty"),
        (["migrate"], "TWOSTEP_METRICS_TOKEN", "short"),
        (["serve"], "TWOSTEP_TRUSTED_PROXIES", "nope"),
        (["serve"], "TWOSTEP_ENV", "prod"),
        (["users", "create", "a@b.test"], "TWOSTEP_TRUSTED_PROXIES", "nope"),
    ],
)
def test_a_bad_setting_is_one_line_and_status_2(
    tmp_path: Path, command: list[str], variable: str, value: str
) -> None:
    env = {**os.environ, "TWOSTEP_DATA_DIR": str(tmp_path / "data"), variable: value}
    result = subprocess.run(
        [sys.executable, "-m", "twostep", *command],
        capture_output=True, text=True, env=env, timeout=60, check=False, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"error: {variable}: "), result.stderr
    assert f"(e.g. {variable}=" in lines[0]


def test_an_empty_setting_is_unset(tmp_path: Path) -> None:
    env = {**os.environ, "TWOSTEP_DATA_DIR": str(tmp_path / "data"), "TWOSTEP_TRUSTED_PROXIES": ""}
    result = subprocess.run(
        [sys.executable, "-m", "twostep", "migrate"],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr


def test_purge_deletes_what_is_past_its_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import UTC, datetime, timedelta

    from twostep.store import Database, throttles

    monkeypatch.setenv("TWOSTEP_DATA_DIR", str(tmp_path / "data"))
    assert CliRunner().invoke(cli_app, ["migrate"]).exit_code == 0
    db = Database.from_url(f"sqlite:///{tmp_path / 'data' / 'twostep.sqlite3'}")
    with db.transaction() as tx:
        throttles.register_failure(
            tx, "login:ip:192.0.2.1", datetime.now(UTC) - timedelta(days=9), 5, 60
        )
    result = CliRunner().invoke(cli_app, ["purge", "--batch", "10"])
    assert result.exit_code == 0, result.output
    assert "purged 1 rows: throttles=1" in result.stdout
    with db.transaction(readonly=True) as tx:
        assert throttles.get(tx, "login:ip:192.0.2.1") is None
    db.dispose()


def test_make_run_installs_the_runtime_only_and_takes_a_port() -> None:
    root = Path(__file__).resolve().parents[1]
    make = need_binary("make")

    def plan(*args: str) -> list[list[str]]:
        command = [make, "-s", "-n", "-C", str(root), "UV=uv", *args]
        result = subprocess.run(command, capture_output=True, text=True, check=True, timeout=30)
        return [line.split() for line in result.stdout.splitlines()]

    run = plan("run", "PORT=8001")
    assert ["uv", "sync", "--frozen", "--no-dev"] in run
    assert ["uv", "run", "--frozen", "--no-dev", "twostep", "serve", "--port", "8001"] in run
    assert ["uv", "run", "--frozen", "--no-dev", "twostep", "serve"] in plan("run")
    assert ["uv", "sync", "--frozen"] in plan("test")
