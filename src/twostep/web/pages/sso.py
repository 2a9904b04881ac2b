"""The return trip of forward authentication: from an app, through sign-in, back to the app.

A proxy sends a browser that must sign in to ``/login?rd=<the app's URL>`` (or, when a rule
wants a fresh second factor, to ``/step-up?rd=…``). The page turns a valid ``rd`` into its
ordinary ``next``, the local path ``/sso/return?rd=…``, so every step of the sign-in (the
code, enrolment, a step-up) carries it unchanged; ``/sso/return`` then gives the browser a new
single-sign-on cookie for its session and sends it to the app.

``rd`` is accepted only as an http(s) URL on ``TWOSTEP_COOKIE_DOMAIN`` or a subdomain
(:func:`twostep.services.forward_auth.return_url_allowed`); anything else is refused with a
page, never followed: that would make twostep an open redirect.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Query
from starlette.responses import Response

from twostep.errors import InvalidInput
from twostep.services import forward_auth
from twostep.web.deps import State, WebState
from twostep.web.pages.deps import FullUser, PagesDep
from twostep.web.pages.routing import PageRoute

router = APIRouter(route_class=PageRoute, include_in_schema=False)

REFUSED = "That return address is not one of the sites this sign-in serves."


def checked_rd(state: WebState, rd: str) -> str:
    """``rd`` when it may be returned to; :class:`InvalidInput` (a 422 page) otherwise."""
    cookie = state.sso_cookie
    if not forward_auth.return_url_allowed(rd, cookie.domain, allow_http=not cookie.secure):
        raise InvalidInput("rd", REFUSED)
    return rd


def next_for(state: WebState, rd: str, next_url: str) -> str:
    """The ``next`` of a page reached with ``rd`` (checked), else ``next_url`` as it was."""
    if not rd:
        return next_url
    return "/sso/return?rd=" + quote(checked_rd(state, rd), safe="")


@router.get("/sso/return")
def sso_return(
    pages: PagesDep, state: State, principal: FullUser, rd: Annotated[str, Query()] = ""
) -> Response:
    """Give the signed-in browser a single-sign-on cookie, then send it back to ``rd``."""
    target = checked_rd(state, rd)
    token = forward_auth.issue_sso_token(state.ctx, principal)
    if token is None:  # the session ended meanwhile
        return pages.redirect("/login")
    response = pages.redirect(target)
    seconds = int((principal.session.expires_at - state.ctx.clock.now()).total_seconds())
    state.sso_cookie.set(response, token, max_age=max(60, seconds))
    return response
