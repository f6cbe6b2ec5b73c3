"""Idle TLS connections share what asyncio and aioimaplib would otherwise keep once each.

A real TLS server on 127.0.0.1 (port 0, a test CA): several connections of one event loop end
up with one socket read buffer, and the bytes each receives are still its own. These tests
also fail when a Python release renames the private asyncio attributes the sharing relies on.
"""

from __future__ import annotations

import asyncio
import ssl

from fluenzr.mail.connection_memory import (
    drop_decoded_peercert,
    share_tls_read_buffer,
    shared_capabilities,
    ssl_protocol_of,
)
from tests.support.certs import pki


class _Collect(asyncio.Protocol):
    def __init__(self) -> None:
        self.data = bytearray()
        self.done = asyncio.Event()

    def data_received(self, data: bytes) -> None:
        self.data += data
        if self.data.endswith(b"END\n"):
            self.done.set()


async def _serve() -> tuple[asyncio.Server, int, ssl.SSLContext]:
    authority = pki()
    leaf = authority.leaf()

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        name = (await reader.readline()).strip()
        # Larger than one TLS record: the reads are split over several callbacks.
        writer.write(name * 20_000 + b"END\n")
        await writer.drain()
        await reader.read()  # until the client hangs up
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0, ssl=leaf.server_context())
    port = server.sockets[0].getsockname()[1]
    client = ssl.create_default_context(cadata=authority.ca_pem)
    return server, port, client


async def test_connections_of_one_loop_share_one_read_buffer_and_keep_their_own_bytes() -> None:
    server, port, context = await _serve()
    loop = asyncio.get_running_loop()
    connections = []
    try:
        for _ in range(3):
            transport, protocol = await loop.create_connection(
                _Collect, "127.0.0.1", port, ssl=context, server_hostname="127.0.0.1"
            )
            assert share_tls_read_buffer(transport) is True
            connections.append((transport, protocol))
        buffers = {id(ssl_protocol_of(t)._ssl_buffer) for t, _ in connections}
        assert len(buffers) == 1
        for number, (transport, _) in enumerate(connections):
            transport.write(f"c{number}\n".encode())
        for number, (_, protocol) in enumerate(connections):
            await protocol.done.wait()
            assert bytes(protocol.data) == f"c{number}".encode() * 20_000 + b"END\n"
    finally:
        for transport, _ in connections:
            transport.close()
        server.close()
        await server.wait_closed()


async def test_plain_tcp_is_left_alone() -> None:
    server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    transport, _ = await asyncio.get_running_loop().create_connection(
        asyncio.Protocol, "127.0.0.1", port
    )
    try:
        assert share_tls_read_buffer(transport) is False
        drop_decoded_peercert(transport)  # no TLS: nothing to drop, no error
    finally:
        transport.close()
        server.close()
        await server.wait_closed()


async def test_decoded_peercert_dropped_der_still_available() -> None:
    server, port, context = await _serve()
    transport, _ = await asyncio.get_running_loop().create_connection(
        _Collect, "127.0.0.1", port, ssl=context, server_hostname="127.0.0.1"
    )
    try:
        assert transport.get_extra_info("peercert")  # asyncio keeps the decoded dict…
        drop_decoded_peercert(transport)
        assert transport.get_extra_info("peercert") is None  # …until told otherwise
        ssl_object = transport.get_extra_info("ssl_object")
        assert ssl_object.getpeercert(binary_form=True)
    finally:
        transport.close()
        server.close()
        await server.wait_closed()


def test_equal_capability_sets_are_one_shared_frozen_copy() -> None:
    first = shared_capabilities({"IMAP4rev1", "IDLE", "UIDPLUS"})
    second = shared_capabilities(["UIDPLUS", "IDLE", "IMAP4rev1"])
    assert first is second
    assert isinstance(first, frozenset)
    assert first.union({"MOVE"}) >= first  # aioimaplib extends it with union(): still works
    assert shared_capabilities({"IMAP4rev1"}) is not first
