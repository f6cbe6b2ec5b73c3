"""Parse ``FLUENZR_DNS_SERVERS``: a comma-separated list of ``host[:port]``.

A host is an IP address (``[addr]`` for IPv6 with a port) or ``localhost``: a resolver named by
a host name would need a resolver to find it. Port defaults to 53. At most 8 servers.
"""

from __future__ import annotations

import ipaddress

MAX_NAMESERVERS = 8


def _address(host: str) -> str:
    if host.lower() == "localhost":
        return "127.0.0.1"
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        raise ValueError(f"{host[:80]!r} is not an IP address") from None


def _port(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ValueError(f"port {text[:10]!r} must be 1-65535")
    return int(text)


def parse_one(item: str) -> tuple[str, int]:
    item = item.strip()
    if item.startswith("["):
        host, sep, rest = item[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise ValueError(f"{item[:80]!r}: write IPv6 as [addr] or [addr]:port")
        return _address(host), _port(rest[1:]) if rest else 53
    if item.count(":") > 1:  # a bare IPv6 address, no port
        return _address(item), 53
    host, sep, port = item.partition(":")
    return _address(host), _port(port) if sep else 53


def parse_nameservers(text: str) -> list[tuple[str, int]]:
    """``"127.0.0.1:5353, [::1]:53, 9.9.9.9"`` → [(address, port), …]; ValueError when bad."""
    if len(text) > 1000:
        raise ValueError("too long")
    items = [i for i in text.split(",") if i.strip()]
    if len(items) > MAX_NAMESERVERS:
        raise ValueError(f"at most {MAX_NAMESERVERS} servers")
    return [parse_one(i) for i in items]
