"""Sessions and their refresh tokens, on SQLite and PostgreSQL (DESIGN §4.4, §4.9)."""

from __future__ import annotations

from collections.abc import Callable

from tests.services.conftest import ORIGIN
from tests.services.support import dump_tables
from twostep.services import refresh, sessions
from twostep.services.context import Context
from twostep.store import users


def test_refresh_tokens_are_stored_only_as_keyed_hashes(
    ctx: Context, make_user: Callable[..., users.User]
) -> None:
    user = make_user()
    with ctx.db.transaction() as tx:
        issued = sessions.start(tx, ctx, user, amr=["pwd"], at=ctx.clock.now(), origin=ORIGIN)
    rotated = refresh.rotate(ctx, issued.refresh_token, ORIGIN)
    assert rotated.session.id == issued.session.id

    dump = dump_tables(ctx)
    assert "sessions" in dump and "refresh_tokens" in dump
    for token in (issued.refresh_token, rotated.refresh_token):
        assert token not in dump
        assert token.lower() not in dump.lower()
    assert refresh.session_for_refresh_token(ctx, rotated.refresh_token) is not None
