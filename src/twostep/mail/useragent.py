"""What a security email may say about the browser and address behind an event.

Both come from the request, and the email that shows them is genuine: anything an attacker
can put in it (a link, a phone number, "call support") gains our credibility. So a
``User-Agent`` is reduced to a summary from a fixed vocabulary ("Firefox on Linux") when it
is recognised, and otherwise to at most :data:`LIMIT` printable characters with anything
URL-like removed. An address is shown only if it is an IP address literal.

>>> describe_agent(
...     "Mozilla/5.0 (X11; Linux x86_64; rv:126.0) Gecko/20100101 Firefox/126.0"
... )
'Firefox on Linux'
>>> describe_agent("Visit https://evil.example/login now")
'Visit now'
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata

LIMIT = 80

# (marker, name), first match wins: Edge and Opera also say "Chrome", Chrome says "Safari",
# Android says "Linux", iOS says "Mac OS X".
_BROWSERS = (
    ("Edg/", "Edge"), ("EdgA/", "Edge"), ("EdgiOS/", "Edge"), ("OPR/", "Opera"),
    ("SamsungBrowser/", "Samsung Internet"), ("Vivaldi/", "Vivaldi"), ("Firefox/", "Firefox"),
    ("FxiOS/", "Firefox"), ("CriOS/", "Chrome"), ("Chromium/", "Chromium"),
    ("Chrome/", "Chrome"), ("Safari/", "Safari"), ("curl/", "curl"),
)  # fmt: skip
_SYSTEMS = (
    ("iPhone", "iOS"), ("iPad", "iPadOS"), ("Android", "Android"), ("CrOS", "ChromeOS"),
    ("Windows", "Windows"), ("Macintosh", "macOS"), ("Mac OS X", "macOS"), ("Linux", "Linux"),
)  # fmt: skip

# A scheme and what follows it, "www." and what follows it, or a dotted name ending in a
# letter-only label (example.com, evil.example/path): none of them may reach an email.
_URL_LIKE = re.compile(
    r"(?:[a-z][a-z0-9+.-]*:/+|www\.)\S*"
    r"|(?:[a-z0-9-]+\.)+[a-z]{2,}\b(?:[/:?#]\S*)?",
    re.IGNORECASE,
)


def describe_agent(user_agent: str | None) -> str | None:
    """A short, safe description of a ``User-Agent`` header, or ``None`` if nothing is left."""
    if not user_agent:
        return None
    browser = next((name for marker, name in _BROWSERS if marker in user_agent), None)
    system = next((name for marker, name in _SYSTEMS if marker in user_agent), None)
    if browser is not None:
        return f"{browser} on {system}" if system else browser
    return _printable(user_agent)


def _printable(value: str) -> str | None:
    """Visible characters only, URL-like runs removed, one line, at most :data:`LIMIT`."""
    text = "".join(" " if unicodedata.category(ch)[0] in "CZ" else ch for ch in value)
    text = " ".join(_URL_LIKE.sub(" ", text).split())
    if len(text) > LIMIT:
        text = text[: LIMIT - 1].rstrip() + "…"
    return text or None


def shown_ip(ip: str | None) -> str | None:
    """``ip`` in canonical form if it is an IP address literal; anything else is not shown.

    The origin's address is the one :mod:`twostep.web.client_ip` chose (the peer, or a
    forwarded address only from a trusted proxy); this check keeps any other text out.
    """
    if not ip:
        return None
    try:
        return str(ipaddress.ip_address(ip.strip()))
    except ValueError:
        return None
