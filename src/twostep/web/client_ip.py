"""The client's address: the TCP peer, unless that peer is a proxy we were told to trust.

``X-Forwarded-For`` is read only when the direct peer is in ``trusted_proxies``; then the
right-most address that is not itself a trusted proxy is the client. A client that sends
its own ``X-Forwarded-For`` straight to us changes nothing, so rotating the header cannot
escape a per-IP limit.

This is the only place that reads the header: ``twostep serve`` runs uvicorn with its
proxy-header handling off (:func:`twostep.cli.server_options`), so no server layer rewrites
the peer address before this check.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(entries: Sequence[str]) -> tuple[Network, ...]:
    """Trusted proxies as networks (``10.0.0.1`` or ``10.0.0.0/8``)."""
    return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries)


def is_trusted(address: str, networks: tuple[Network, ...]) -> bool:
    """``address`` is one of the trusted proxies."""
    return _trusted(address, networks)


def _trusted(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_ip(peer: str | None, forwarded_for: str | None, trusted: tuple[Network, ...]) -> str:
    """The address to attribute a request to."""
    if peer is None:
        return "unknown"
    if not forwarded_for or not _trusted(peer, trusted):
        return peer
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, trusted):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return peer
    return hops[0] if hops else peer
