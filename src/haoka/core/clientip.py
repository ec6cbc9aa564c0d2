"""The address of the client behind a request: the one function every per-IP limit and every
anonymous idempotency scope asks.

Without configuration it is the TCP peer (``REMOTE_ADDR``). Behind a reverse proxy every
request comes from the proxy, so per-IP limits would count all clients together: the proxies
named in ``settings.TRUSTED_PROXIES`` (``HAOKA_TRUSTED_PROXIES``: IPs or CIDRs,
comma-separated) are believed about who they forward for. ``X-Forwarded-For`` lists one hop per
proxy, each appending the peer it saw, so only its right end was written by proxies we trust:
it is read only when the peer is trusted, right to left, and the first address that is not a
trusted proxy is the client. Anything left of it was written by the client (it may lie), and a
malformed entry ends the walk (no trusted proxy writes one, so what lies left of it cannot be
vouched for): the client is then the last trusted hop.
"""

from __future__ import annotations

import functools
import ipaddress

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

#: What a request with no peer address at all is counted as.
UNKNOWN = "unknown"


def client_ip(request) -> str:
    """The client's address as text (canonical form), ``"unknown"`` when there is none."""
    remote = (request.META.get("REMOTE_ADDR") or "").strip()
    peer = parse_address(remote)
    if peer is None:
        return remote or UNKNOWN
    trusted = trusted_networks()
    if not _is_trusted(peer, trusted):
        return str(peer)
    client = peer
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    for entry in reversed(forwarded.split(",") if forwarded else []):
        hop = parse_address(entry)
        if hop is None:
            break
        client = hop
        if not _is_trusted(hop, trusted):
            break
    return str(client)


def parse_address(text: str) -> Address | None:
    """An address from a peer or a forwarded hop (``1.2.3.4``, ``1.2.3.4:5678``, ``2001:db8::1``,
    ``[2001:db8::1]:443``); IPv4-mapped IPv6 becomes IPv4. None when it is not one."""
    text = text.strip()
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:  # IPv4 with a port
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def trusted_networks() -> tuple[Network, ...]:
    """``settings.TRUSTED_PROXIES`` parsed. Raises ImproperlyConfigured on an entry that is not
    an IP or a CIDR (checked at start-up by the core app)."""
    return _networks(tuple(getattr(settings, "TRUSTED_PROXIES", ()) or ()))


@functools.cache
def _networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError as exc:
            raise ImproperlyConfigured(
                f"HAOKA_TRUSTED_PROXIES: {entry!r} is not an IP address or CIDR"
            ) from exc
    return tuple(networks)


def _is_trusted(address: Address, trusted: tuple[Network, ...]) -> bool:
    return any(address.version == net.version and address in net for net in trusted)
