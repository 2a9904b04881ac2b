"""ASGI middleware protecting path prefixes with twostep tokens, for any ASGI framework.

::

    app = TwostepMiddleware(app, verifier=verifier, protected_paths={
        "/api/terminal/": "elevated",  # a live step-up
        "/api/": "2fa",                # a sign-in with a second factor
    })

Invariants:

- A prefix protects itself and everything below it on a segment boundary: ``"/admin"`` and
  ``"/admin/"`` both cover ``/admin`` and ``/admin/users`` but not ``/administrator``. The
  longest matching prefix decides, so a stricter sub-tree can sit inside a looser one.
- Matching uses ``scope["path"]``, the same decoded path the router dispatches on, so no
  spelling of a URL reaches a protected route unchecked.
- A refused request never reaches the app. An accepted one carries its claims in
  ``scope["state"]["twostep"]`` (``request.state.twostep`` in Starlette); every request carries
  the guard in ``scope["twostep.guard"]``, which the decorators use.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from starlette.types import ASGIApp, Receive, Scope, Send

from twostep.clock import Clock
from twostep.errors import TwostepError
from twostep.integrations.policy import DEFAULT_STEP_UP_URL, Answer, Guard, Requirement, Rule
from twostep.security.tokens import TokenVerifier

GUARD_KEY = "twostep.guard"
CLAIMS_STATE = "twostep"
WS_POLICY_VIOLATION = 1008


def _prefix(path: str) -> str:
    if not path.startswith("/"):
        raise ValueError(f"a protected path must start with '/', not {path!r}")
    return path.rstrip("/")


class TwostepMiddleware:
    """Refuses requests under protected prefixes unless their bearer token is good enough.

    ``protected_paths`` maps prefixes to ``"token"``, ``"2fa"`` or ``"elevated"``; a plain
    list of prefixes means ``"2fa"``.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        verifier: TokenVerifier,
        protected_paths: Mapping[str, Requirement] | Sequence[str],
        step_up_url: str = DEFAULT_STEP_UP_URL,
        clock: Clock | None = None,
        allow_enrollment_sessions: bool = False,
    ) -> None:
        self.app = app
        self.guard = Guard(
            verifier,
            step_up_url=step_up_url,
            clock=clock,
            allow_enrollment_sessions=allow_enrollment_sessions,
        )
        if isinstance(protected_paths, str):
            raise TypeError("protected_paths is a list or a mapping of prefixes, not one string")
        levels: Mapping[str, Requirement] = (
            protected_paths
            if isinstance(protected_paths, Mapping)
            else dict.fromkeys(protected_paths, "2fa")
        )
        rules = {_prefix(path): Rule(level) for path, level in levels.items()}
        self.rules = sorted(rules.items(), key=lambda item: len(item[0]), reverse=True)

    def rule_for(self, path: str) -> Rule | None:
        """The rule of the longest prefix covering ``path``, or ``None`` when it is public."""
        for prefix, rule in self.rules:
            if path == prefix or path.startswith(prefix + "/") or not prefix:
                return rule
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        scope = {**scope, GUARD_KEY: self.guard}
        rule = self.rule_for(scope["path"])
        if rule is None:
            await self.app(scope, receive, send)
            return
        try:
            claims = await self.guard.authenticate_async(_authorization(scope))
            self.guard.enforce(claims, rule)
        except TwostepError as exc:
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": WS_POLICY_VIOLATION})
            else:
                await _send_answer(send, self.guard.answer(exc))
            return
        scope["state"] = {**scope.get("state", {}), CLAIMS_STATE: claims}
        await self.app(scope, receive, send)


def _authorization(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name.lower() == b"authorization":
            return bytes(value).decode("latin-1")
    return None


async def _send_answer(send: Send, answer: Answer) -> None:
    body = json.dumps(answer.body).encode("utf-8")
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode("ascii")),
        *((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in answer.headers.items()),
    ]
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
