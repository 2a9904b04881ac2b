"""Helpers shared by the browser tests: viewports, screenshots, console errors, and seeding
accounts through the services before the browser arrives."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, ViewportSize

from twostep.clock import ManualClock
from twostep.otp import decode_secret, totp
from twostep.services import enrollment, sessions
from twostep.services.context import Context, Origin
from twostep.store import users

PHONE: ViewportSize = {"width": 375, "height": 812}
DESKTOP: ViewportSize = {"width": 1280, "height": 900}
SEED_ORIGIN = Origin(ip="198.51.100.20", user_agent="Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0")


def shoot(page: Page, folder: Path, name: str, *, dark: bool = False) -> None:
    """Full-page screenshots at phone and desktop width."""
    if dark:
        page.emulate_media(color_scheme="dark")
    for label, size in (("375", PHONE), ("1280", DESKTOP)):
        page.set_viewport_size(size)
        suffix = "-dark" if dark else ""
        page.screenshot(path=str(folder / f"{name}-{label}{suffix}.png"), full_page=True)
    page.set_viewport_size(DESKTOP)
    if dark:
        page.emulate_media(color_scheme="light")


def watch_errors(page: Page) -> list[str]:
    """Script errors and CSP violations (a 4xx page is expected, not an error)."""
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on(
        "console",
        lambda m: (
            errors.append(m.text)
            if m.type == "error" and not m.text.startswith("Failed to load resource")
            else None
        ),
    )
    return errors


def sign_in(ctx: Context, user: users.User) -> sessions.Principal:
    """A password-only session for ``user`` at the clock's time, for seeding."""
    with ctx.db.transaction() as tx:
        issued = sessions.start(tx, ctx, user, amr=["pwd"], at=ctx.clock.now(), origin=SEED_ORIGIN)
    return sessions.resolve(ctx, issued.session.id)


def enroll(ctx: Context, clock: ManualClock, user: users.User) -> str:
    """Enroll a device at the clock's time; its base32 key."""
    principal = sign_in(ctx, user)
    started = enrollment.begin(ctx, principal, "Phone", SEED_ORIGIN)
    code = totp(decode_secret(started.secret).key, clock.now().timestamp())
    enrollment.confirm(ctx, principal, started.device_id, code, SEED_ORIGIN)
    return started.secret
