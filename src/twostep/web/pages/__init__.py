"""Server-rendered pages for people: sign-up, sign-in, 2FA, enrollment, account security.

:func:`install_pages` adds them to an app built by :func:`twostep.web.app.create_app`. The
pages call the same services as the JSON API. What another set of pages (an admin console)
reuses from here:

* ``templates/base.html`` and ``static/twostep.css`` / ``twostep.js`` (layout and components);
* :class:`~twostep.web.pages.routing.PageRoute` as ``route_class``: errors become pages;
* :data:`~twostep.web.pages.csrf.CsrfChecked` on every POST, ``{{ ui.csrf_field() }}`` (from
  ``_ui.html``) in every form;
* :data:`~twostep.web.pages.deps.FullUser` / ``MaybeUser`` for the browser's session, and
  :func:`~twostep.web.pages.deps.step_up_first` before a sensitive change;
* ``request.app.state.pages`` (:class:`~twostep.web.pages.rendering.Pages`) to render.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from twostep.web.deps import WebState
from twostep.web.pages import (
    account,
    dev,
    device_actions,
    enroll,
    passkeys,
    password_reset,
    signin,
    signup,
    sso,
    step_up,
)
from twostep.web.pages.rendering import STATIC_DIR, Pages

__all__ = ["Pages", "install_pages"]


def install_pages(app: FastAPI, state: WebState) -> Pages:
    """Mount ``/static`` and the page routes on ``app``; the dev mailbox only in development."""
    settings = state.ctx.settings
    pages = Pages(settings, state.ctx.keyring.pepper)
    pages.env.globals["code_minutes"] = state.ctx.email_codes.validity_seconds // 60
    app.state.pages = pages
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    modules = (account, signin, signup, enroll, step_up, device_actions, password_reset, passkeys)
    for module in modules:
        app.include_router(module.router)
    if settings.cookie_domain:
        app.include_router(sso.router)
    app.include_router(signup.advice_router)
    if settings.is_development:
        app.include_router(dev.router)
    return pages
