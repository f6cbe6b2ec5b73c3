"""What an idle IMAP connection costs in memory, and the sharing that keeps it small.

A detection worker holds thousands of IDLE sessions that carry no traffic for minutes. Per
connection, asyncio and aioimaplib keep things that are only ever read, or only used for an
instant, yet are allocated once per connection:

- the TLS transport's socket read buffer (``SSLProtocol._ssl_buffer``, 256 KiB by default):
  the event loop receives into it and copies it into the TLS object's input at once, in the
  same callback, so one buffer per event loop serves every connection of that loop;
- the peer certificate as a decoded dict (``peercert``), which asyncio keeps for
  ``get_extra_info``: we read the certificate in DER form from the TLS object instead;
- the server's capabilities, a set of some 30 strings per connection, the same on every
  connection to one server: one shared, immutable copy per distinct set.

The first two reach into asyncio's private attributes; each step checks they exist and does
nothing otherwise (a Python release that renames them costs memory, never correctness), and
``tests/integration/test_connection_memory.py`` fails when they disappear so the loss is noticed.
"""

from __future__ import annotations

import asyncio
import functools
import sys
import weakref
from collections.abc import Iterable
from typing import Any

# A TLS record is at most 16 KiB (+ header): a larger buffer only saves system calls on bulk
# transfers; shared, its size costs nothing per connection.
SHARED_READ_BUFFER = 256 * 1024
_buffers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, memoryview] = (
    weakref.WeakKeyDictionary()
)


def ssl_protocol_of(transport: Any) -> Any:
    """asyncio's ``SSLProtocol`` behind a TLS transport, or None (plain TCP, other loops)."""
    return getattr(transport, "_ssl_protocol", None)


def share_tls_read_buffer(transport: Any) -> bool:
    """Point the TLS transport's socket read buffer at the event loop's shared one.

    Safe because the buffer never holds data between callbacks: ``get_buffer`` hands it to
    ``recv_into``, and ``buffer_updated`` copies the bytes into the TLS input (a MemoryBIO)
    before anything else runs on the loop. One buffer per loop, so threads never share one.
    """
    protocol = ssl_protocol_of(transport)
    if protocol is None or not hasattr(protocol, "_ssl_buffer_view"):
        return False
    loop = asyncio.get_running_loop()
    view = _buffers.get(loop)
    if view is None:
        view = memoryview(bytearray(SHARED_READ_BUFFER))
        _buffers[loop] = view
    protocol._ssl_buffer = view.obj
    protocol._ssl_buffer_view = view
    # get_buffer(n) never asks for more than max_size: keep it within the shared buffer.
    if getattr(protocol, "max_size", 0) > len(view):
        protocol.max_size = len(view)
    return True


def drop_decoded_peercert(transport: Any) -> None:
    """Forget asyncio's decoded copy of the peer certificate (a dict of ~2 KB per connection).

    Call after the certificate was checked; ``get_extra_info("peercert")`` then answers None,
    while the TLS object (``ssl_object``) still gives the DER form to whoever needs it."""
    protocol = ssl_protocol_of(transport)
    extra = getattr(protocol, "_extra", None)
    if isinstance(extra, dict):
        extra.pop("peercert", None)


@functools.lru_cache(maxsize=256)
def _canonical(capabilities: frozenset[str]) -> frozenset[str]:
    return frozenset(sys.intern(item) for item in capabilities)


def shared_capabilities(capabilities: Iterable[str]) -> frozenset[str]:
    """One immutable, interned copy per distinct capability set (bounded: 256 sets)."""
    return _canonical(frozenset(capabilities))


__all__ = [
    "SHARED_READ_BUFFER",
    "drop_decoded_peercert",
    "share_tls_read_buffer",
    "shared_capabilities",
    "ssl_protocol_of",
]
