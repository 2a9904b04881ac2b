"""Who is looking at an error page: the signed-in principal behind the cookie, if any.

Error pages are answered outside the route's dependencies (the route failed, or none
matched), yet a signed-in person should keep the header, the navigation and a next step
that fits ("Back to your account", not "Go to sign in"). This resolves the session cookie
the way :func:`twostep.web.pages.deps.get_browser_principal` does, and gives up quietly:
an error page never fails because the session could not be read.
"""

from __future__ import annotations

from starlette.requests import Request

from twostep.errors import TwostepError
from twostep.services import refresh, sessions


def viewer(request: Request) -> sessions.Principal | None:
    """The live principal of the browser's session cookie, or ``None``."""
    pages = getattr(request.app.state, "pages", None)
    state = getattr(request.app.state, "twostep", None)
    if pages is None or state is None:
        return None
    token = request.cookies.get(pages.cookies.session)
    if not token:
        return None
    try:
        session = refresh.session_for_refresh_token(state.ctx, token, channel="page")
        return sessions.resolve(state.ctx, session.id) if session is not None else None
    except TwostepError:
        return None
