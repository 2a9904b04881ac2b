"""The development mailbox: every email the outbox holds, with clickable links.

Registered only when ``TWOSTEP_ENV=development`` (DESIGN §4.12); in production these paths
do not exist at all. Links are made clickable only when they point under the configured
public URL, so a message cannot turn the page into a launcher for other sites.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from twostep.mail.outbox import Outbox
from twostep.web.deps import State
from twostep.web.pages.csrf import CsrfChecked
from twostep.web.pages.deps import MaybeUser, PagesDep
from twostep.web.pages.humanize import linkify
from twostep.web.pages.routing import PageRoute

router = APIRouter(route_class=PageRoute, include_in_schema=False, prefix="/dev/mailbox")


def outbox(state: State) -> Outbox:
    """The app's outbox, or the one development mail goes to by default."""
    if isinstance(state.ctx.mailer, Outbox):
        return state.ctx.mailer
    return Outbox(state.ctx.settings.data_dir / "outbox", state.ctx.clock)


@router.get("")
def mailbox(request: Request, pages: PagesDep, state: State, principal: MaybeUser) -> Response:
    """Sent messages, newest first."""
    messages = outbox(state).list()
    return pages.render(request, "mailbox.html", {"messages": messages}, principal=principal)


@router.post("/clear")
def clear(_: CsrfChecked, pages: PagesDep, state: State) -> Response:
    """Delete every stored message."""
    outbox(state).clear()
    return pages.redirect("/dev/mailbox")


@router.get("/{message_id}")
def message(
    request: Request, message_id: str, pages: PagesDep, state: State, principal: MaybeUser
) -> Response:
    """One message, as text, with its links clickable."""
    found = outbox(state).get(message_id)
    if found is None:
        missing = {"title": "No such message", "error": "This message is not in the outbox."}
        return pages.render(request, "message.html", missing, status=404, principal=principal)
    body = linkify(found.text, state.ctx.settings.public_url.rstrip("/") + "/")
    values: dict[str, object] = {"message": found, "body": body}
    return pages.render(request, "mailbox_message.html", values, principal=principal)
