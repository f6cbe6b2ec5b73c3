"""Only loopback may be a target of any test: enforce it in-process.

Name lookups of anything but loopback names/addresses fail as "name not found" (as they would
offline) and connections or datagrams to non-loopback addresses are refused; every attempt is
recorded so the suite can fail on it.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

_LOOPBACK_NAMES = {"localhost", "localhost.", "ip6-localhost"}
attempts: list[str] = []

_real_getaddrinfo = socket.getaddrinfo
_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_sendto = socket.socket.sendto


def _is_loopback(host: Any) -> bool:
    if host is None:
        return True
    if isinstance(host, bytes):
        host = host.decode(errors="replace")
    text = str(host).strip("[]").lower()
    if text in _LOOPBACK_NAMES or text.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(text.split("%")[0]).is_loopback
    except ValueError:
        return False


def _is_special(host: Any) -> bool:
    """RFC 6761 names that never leave the machine (answered "not found" locally)."""
    text = (host.decode() if isinstance(host, bytes) else str(host)).lower().rstrip(".")
    return text == "invalid" or text.endswith(".invalid")


def _guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    if not _is_loopback(host):
        if not _is_special(host):
            attempts.append(f"getaddrinfo({host!r})")
        raise socket.gaierror(socket.EAI_NONAME, "blocked by the test suite: not loopback")
    return _real_getaddrinfo(host, *args, **kwargs)


def _target(address: Any) -> Any:
    return address[0] if isinstance(address, tuple) else None


def _guarded_connect(self: socket.socket, address: Any) -> Any:
    if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(_target(address)):
        attempts.append(f"connect({address!r})")
        raise ConnectionRefusedError("blocked by the test suite: not loopback")
    return _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: Any) -> Any:
    if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(_target(address)):
        attempts.append(f"connect_ex({address!r})")
        return 111
    return _real_connect_ex(self, address)


def _guarded_sendto(self: socket.socket, data: Any, *args: Any) -> Any:
    address = args[-1]
    if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(_target(address)):
        attempts.append(f"sendto({address!r})")
        raise PermissionError("blocked by the test suite: not loopback")
    return _real_sendto(self, data, *args)


def install() -> None:
    socket.getaddrinfo = _guarded_getaddrinfo
    socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]
    socket.socket.sendto = _guarded_sendto  # type: ignore[method-assign,assignment]
