"""Page dependencies: the ``Pages`` object, and the browser's session behind a request.

The session cookie holds an opaque refresh token. Each request resolves it to a live
session (``refresh.session_for_refresh_token`` → ``sessions.resolve``), so a session that
was revoked anywhere (logout, "sign out other sessions", a password reset, an operator) is
gone for the browser at once. Aliases follow ``twostep.web.deps``::

    def account(principal: FullUser, pages: PagesDep) -> Response: ...
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from twostep.errors import Unauthenticated
from twostep.services import refresh, sessions
from twostep.web.deps import State, WebState
from twostep.web.pages.rendering import Pages
from twostep.web.pages.routing import PageRedirect, step_up_url, with_next


def get_pages(request: Request) -> Pages:
    pages: Pages = request.app.state.pages
    return pages


PagesDep = Annotated[Pages, Depends(get_pages)]


def session_token(request: Request, pages: Pages) -> str | None:
    """The refresh token in the browser's session cookie, if any."""
    return request.cookies.get(pages.cookies.session) or None


def get_browser_principal(
    request: Request, state: State, pages: PagesDep
) -> sessions.Principal | None:
    """The user and live session behind the session cookie, or ``None``."""
    token = session_token(request, pages)
    if token is None:
        return None
    session = refresh.session_for_refresh_token(state.ctx, token, channel="page")
    if session is None:
        return None
    try:
        return sessions.resolve(state.ctx, session.id)
    except Unauthenticated:
        return None


MaybeUser = Annotated[sessions.Principal | None, Depends(get_browser_principal)]
"""The signed-in principal, or ``None`` for a visitor."""


def _here(request: Request) -> str | None:
    if request.method != "GET":
        return None
    return request.url.path + (f"?{request.url.query}" if request.url.query else "")


def get_signed_in(request: Request, principal: MaybeUser) -> sessions.Principal:
    """Any live session (one limited to enrolling included); else off to sign in."""
    if principal is None:
        raise PageRedirect(with_next("/login", _here(request)))
    return principal


SignedIn = Annotated[sessions.Principal, Depends(get_signed_in)]


def get_full_user(principal: SignedIn) -> sessions.Principal:
    """A full session; a session that must enroll first is sent to ``/enroll``."""
    if principal.session.purpose != "full":
        raise PageRedirect("/enroll")
    return principal


FullUser = Annotated[sessions.Principal, Depends(get_full_user)]


def step_up_first(request: Request, state: WebState, principal: sessions.Principal) -> None:
    """Before a sensitive change: an unconfirmed session goes to the step-up page first,
    and comes back to this page (``request``'s path) after a code."""
    if not principal.is_elevated(state.ctx.clock.now()):
        raise PageRedirect(step_up_url(request.url.path))
