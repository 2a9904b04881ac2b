"""The ASGI app alone, without a server: CPU per request of ``/healthz`` and of a step-up.

``http_api.py`` measures the whole stack under ``wrk``, where the load generator, the server
and the database share the cores, so a change to the app moves its figures by less than their
noise. This script calls the app directly, one request at a time on the event loop, and
reports the process CPU per request: the cost of the app's own layers (middleware, routing,
dependencies, the service call, the response) that the server stack then adds to.

Each step-up request is a different user, device and session with a valid code (a manual
clock moves one TOTP step per round), on a temporary SQLite database, so every request
succeeds and verifies a fresh code. A bare Starlette app answering ``{"status": "ok"}`` is
measured the same way, in the same run.

    uv run python bench/asgi.py [--users 300] [--rounds 5] [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import pstats
import tempfile
import time
from collections.abc import Callable, Coroutine
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ping_app import create_app as create_ping_app
from starlette.types import ASGIApp, Message

from twostep.clock import ManualClock
from twostep.config import Settings
from twostep.mail import MemoryMailer
from twostep.otp import decode_secret, totp
from twostep.security import Keyring, PasswordHasher
from twostep.services import enrollment, sessions
from twostep.services.context import Origin, build_context
from twostep.store import users
from twostep.web.app import create_app

T0 = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
ORIGIN = Origin(ip="127.0.0.1", user_agent="bench")


async def call(app: ASGIApp, method: str, path: str, headers: list[tuple[bytes, bytes]],
               body: bytes = b"") -> int:  # fmt: skip
    """One request through ``app``; its status."""
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
        "root_path": "", "headers": [(b"host", b"127.0.0.1"), *headers],
        "client": ("127.0.0.1", 40000), "server": ("127.0.0.1", 8000),
    }  # fmt: skip
    sent = False
    status = 0

    async def receive() -> Message:
        nonlocal sent
        if sent:
            await asyncio.sleep(3600)
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--profile", action="store_true", help="cProfile the step-up rounds")
    args = parser.parse_args()

    data = Path(tempfile.mkdtemp(prefix="twostep-asgi-"))
    settings = Settings(data_dir=data, login_rate_per_minute=10**9, account_rate_per_minute=10**9)
    clock = ManualClock(T0)
    keyring = Keyring.generate(signing=True)
    ctx = build_context(
        settings, clock=clock, mailer=MemoryMailer(), keyring=keyring, passwords=PasswordHasher()
    )
    app = create_app(settings, context=ctx, purge_every=None)
    ping_app = create_ping_app()

    async def lifespan_and(work: Callable[[], Coroutine[Any, Any, None]]) -> None:
        async with app.router.lifespan_context(app):
            await work()

    accounts: list[tuple[str, bytes]] = []

    async def seed() -> None:
        hashed = ctx.passwords.hash("correct horse battery staple")
        for n in range(args.users):
            with ctx.db.transaction() as tx:
                user = users.create(tx, email=f"u{n}@example.test", password_hash=hashed, at=T0)
                assert user is not None
                users.set_email_verified(tx, user.id, T0)
                issued = sessions.start(tx, ctx, replace(user, email_verified_at=T0),
                                        amr=["pwd"], at=clock.now(), origin=ORIGIN)  # fmt: skip
            principal = sessions.resolve(ctx, issued.session.id)
            started = enrollment.begin(ctx, principal, "Phone", ORIGIN)
            code = totp(decode_secret(started.secret).key, clock.now().timestamp())
            enrollment.confirm(ctx, principal, started.device_id, code, ORIGIN)
            token = app.state.twostep.tokens.issue(issued.user, issued.session)
            accounts.append((token.token, decode_secret(started.secret).key))

    asyncio.run(lifespan_and(seed))
    print(f"seeded {len(accounts)} users with a device and a session")

    json_type = (b"content-type", b"application/json")
    results: dict[str, list[float]] = {"ping": [], "healthz": [], "elevate": []}
    profile = cProfile.Profile() if args.profile else None
    n = len(accounts)

    async def pings() -> None:
        for _ in range(n):
            assert await call(ping_app, "GET", "/ping", []) == 200

    async def healthz() -> None:
        for _ in range(n):
            assert await call(app, "GET", "/healthz", []) == 200

    async def elevate() -> None:
        at = clock.now().timestamp()
        for token, key in accounts:
            body = json.dumps({"code": totp(key, at)}).encode()
            headers = [(b"authorization", b"Bearer " + token.encode()), json_type]
            status = await call(app, "POST", "/api/v1/auth/elevate", headers, body)
            assert status == 200, status

    async def timed(name: str, run: Callable[[], Coroutine[Any, Any, None]]) -> None:
        start = time.process_time()
        await run()
        results[name].append((time.process_time() - start) / n * 1e6)

    async def rounds() -> None:  # one loop and one app start for every round
        for _ in range(args.rounds):
            clock.advance(30)
            await timed("ping", pings)
            await timed("healthz", healthz)
            if profile is not None:
                profile.enable()
            await timed("elevate", elevate)
            if profile is not None:
                profile.disable()

    asyncio.run(lifespan_and(rounds))

    print(f"{'µs of CPU per request (best round; median)':48} {'best':>8} {'median':>8}")
    for name, values in results.items():
        ordered = sorted(values)
        print(f"  {name:46} {ordered[0]:8.0f} {ordered[len(ordered) // 2]:8.0f}")
    best = {name: min(values) for name, values in results.items()}
    print(f"healthz / ping CPU: {best['healthz'] / best['ping']:.1f}x; "
          f"elevate / ping CPU: {best['elevate'] / best['ping']:.1f}x")  # fmt: skip
    if profile is not None:
        pstats.Stats(profile).sort_stats("cumulative").print_stats(45)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
