"""The admin console: overview charts, users and their 2FA, actions, and the audit log.

Server-rendered like the user pages, and built on them: the same templates (``base.html``),
cookie session, CSRF check, error pages (:class:`~twostep.web.pages.routing.PageRoute`) and
step-up page. Reading needs an active account with the admin role; every action also needs
the admin's session elevated and is audited by :mod:`twostep.services.admin`.

=========================================  ==============================================
``GET /admin``                             headline numbers and charts
``GET /admin/users``                       search, filter by 2FA / lock, paginate
``GET /admin/users/{id}``                  devices, backup codes, sessions, lock, events
``GET|POST /admin/users/{id}/{action}``    confirm, then act (reset-2fa, unlock, …)
``GET /admin/audit``                       audit log with filters and pagination
``GET /admin/audit/export.{csv,json}``     the filtered audit log as a download
=========================================  ==============================================
"""

from __future__ import annotations

from fastapi import FastAPI

from twostep.services import audit as audit_service
from twostep.web.pages.admin import actions, audit, overview, users

__all__ = ["install_admin_pages"]


def install_admin_pages(app: FastAPI) -> None:
    """Add the console's routes to ``app``, after :func:`twostep.web.pages.install_pages`.

    The routes reach the app's :class:`~twostep.web.deps.WebState` through the request, like
    every other page.
    """
    if not hasattr(app.state, "pages"):
        raise RuntimeError("install_pages(app, state) must run before install_admin_pages")
    app.state.pages.env.globals.update(
        event_name=audit_service.event_name, outcome_name=audit_service.outcome_name
    )
    for module in (overview, users, actions, audit):
        app.include_router(module.router)
