"""Connecting under the egress policy: resolve once, check, connect by IP, check the peer.

The name is resolved exactly once, every answer is checked with :func:`fluenzr.core.egress.refusal`,
and the socket is connected to a checked *address* (never the name again), so a DNS answer that
changes between check and connect (rebinding) cannot move the connection. The connected
socket's peer address is checked once more before any byte is sent.

``Resolver`` is the seam tests use to make a name resolve to 127.0.0.1 (or answer differently
each time) without a DNS server.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Sequence

from fluenzr.core.egress import EgressPolicy, Purpose, refusal

Resolver = Callable[[str, int], Awaitable[Sequence[str]]]


class EgressRefused(OSError):
    """The egress policy forbids this destination; nothing was sent to it."""

    def __init__(self, host: str, address: str, kind: str) -> None:
        super().__init__(f"egress policy refuses {host} ({kind})")
        self.host = host
        self.address = address
        self.kind = kind


async def system_resolver(host: str, port: int) -> Sequence[str]:
    try:
        return [str(ipaddress.ip_address(host))]  # a literal needs no lookup
    except ValueError:
        pass
    infos = await asyncio.get_running_loop().getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
    )
    return [str(info[4][0]) for info in infos]


_resolver: Resolver = system_resolver


def set_resolver(resolver: Resolver | None) -> None:
    """Tests only: answer names from ``resolver`` (None restores the system resolver)."""
    global _resolver
    _resolver = resolver or system_resolver


async def resolve_checked(
    host: str, port: int, *, policy: EgressPolicy, purpose: Purpose
) -> list[str]:
    """The addresses of ``host`` the policy allows, in resolver order; EgressRefused if none."""
    answers = list(await _resolver(host.strip("[]"), port))
    if not answers:
        raise socket.gaierror(socket.EAI_NONAME, "no address")
    allowed = [a for a in answers if refusal(a, policy=policy, purpose=purpose) is None]
    if not allowed:
        first = answers[0]
        raise EgressRefused(host, first, refusal(first, policy=policy, purpose=purpose) or "")
    return allowed


def check_peer(sock: socket.socket, *, host: str, policy: EgressPolicy, purpose: Purpose) -> None:
    """Refuse a connected socket whose peer the policy forbids (the last line of defence)."""
    peer = str(sock.getpeername()[0])
    kind = refusal(peer, policy=policy, purpose=purpose)
    if kind is not None:
        raise EgressRefused(host, peer, kind)


async def open_socket(
    host: str,
    port: int,
    *,
    policy: EgressPolicy,
    purpose: Purpose,
    timeout: float,  # noqa: ASYNC109 - bounds resolution + connect
) -> socket.socket:
    """A connected, non-blocking TCP socket to ``host``, or EgressRefused / OSError."""
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(timeout):
        addresses = await resolve_checked(host, port, policy=policy, purpose=purpose)
        last: OSError | None = None
        for address in addresses:
            family = socket.AF_INET6 if ":" in address else socket.AF_INET
            sock = socket.socket(family, socket.SOCK_STREAM)
            sock.setblocking(False)
            try:
                await loop.sock_connect(sock, (address, port))
                check_peer(sock, host=host, policy=policy, purpose=purpose)
            except BaseException as exc:
                sock.close()
                if isinstance(exc, EgressRefused) or not isinstance(exc, OSError):
                    raise
                last = exc
                continue
            return sock
    assert last is not None
    raise last


__all__ = [
    "EgressRefused",
    "Resolver",
    "check_peer",
    "open_socket",
    "resolve_checked",
    "set_resolver",
    "system_resolver",
]
