"""The remembered-browser cookie: set after a sign-in with a second factor, when ticked.

The cookie holds the random token of :func:`twostep.services.remembered.remember` (only its
hash is stored) and lives as long as the server remembers the browser; the password step
sends it back (:func:`device_token`).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from twostep.services import remembered, sessions
from twostep.web.deps import RequestOrigin, State
from twostep.web.pages.rendering import Pages


def device_token(request: Request, pages: Pages) -> str | None:
    """The remembered browser's token this browser sent, if any."""
    value = request.cookies.get(pages.cookies.remember)
    return value[: remembered.MAX_TOKEN + 1] if value else None


def set_remember_cookie(pages: Pages, response: Response, token: remembered.Remembered) -> None:
    pages.cookies.set(response, pages.cookies.remember, token.token, max_age=token.max_age)


def remember_if_asked(
    pages: Pages, state: State, origin: RequestOrigin, response: Response,
    issued: sessions.IssuedSession, ticked: str,
) -> Response:  # fmt: skip
    """Tick "don't ask on this browser" after a factor: the cookie goes with the answer."""
    if ticked and remembered.enabled(state.ctx):
        set_remember_cookie(pages, response, remembered.remember(state.ctx, issued.session, origin))
    return response
