"""A tenant's server is untrusted: an IMAP server that streams without end (no CRLF, or an
endless response) is hung up on with a clear error while memory stays bounded; SMTP replies are
bounded by aiosmtplib (8 KiB a line, 32 KiB a reply) and parsed in linear time."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import aiosmtplib
import pytest

from fluenzr.core.endpoints import Endpoint, Security
from fluenzr.core.secret import Secret
from fluenzr.errors import MailError
from fluenzr.mail import imap
from fluenzr.mail.imap import connect_imap

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@asynccontextmanager
async def _server(handler: Handler) -> AsyncIterator[tuple[int, list[int]]]:
    sent: list[int] = [0]

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await handler(reader, writer)
        except (ConnectionError, OSError):
            pass  # the client hung up on us: what the test wants
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield port, sent
    finally:
        server.close()
        await server.wait_closed()


def _endpoint(port: int) -> Endpoint:
    return Endpoint("127.0.0.1", port, Security.NONE, "u", Secret("p"))


async def _flood(writer: asyncio.StreamWriter, chunk: bytes, total: int) -> None:
    for _ in range(total // len(chunk)):
        writer.write(chunk)
        await writer.drain()


async def test_imap_greeting_without_end_is_cut_at_the_line_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(imap, "MAX_LINE_BYTES", 1 << 20)

    async def endless(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"* OK ")
        await _flood(writer, b"x" * 65536, 64 << 20)  # 64 MiB, never a CRLF

    async with _server(endless) as (port, _):
        with pytest.raises(MailError) as caught:
            await connect_imap(_endpoint(port), timeout=10)
    assert caught.value.code == "imap_unexpected_response"


async def test_imap_endless_response_is_cut_at_the_response_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(imap, "MAX_RESPONSE_BYTES", 2 << 20)

    async def chatty(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready\r\n")
        await writer.drain()
        line = await reader.readline()  # CAPABILITY or LOGIN: answer with untagged lines forever
        assert line
        await _flood(writer, b"* OK " + b"y" * 1000 + b"\r\n", 64 << 20)

    async with _server(chatty) as (port, _):
        with pytest.raises(MailError) as caught:
            await connect_imap(_endpoint(port), timeout=10)
    assert caught.value.code == "imap_unexpected_response"


async def test_smtp_endless_reply_is_refused_by_aiosmtplib() -> None:
    """What aiosmtplib bounds (documented in docs/security.md): a reply line over 8 KiB."""

    async def endless(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220-" + b"z" * 20_000 + b"\r\n")
        await _flood(writer, b"220-" + b"z" * 1000 + b"\r\n", 8 << 20)

    async with _server(endless) as (port, _):
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=10, use_tls=False)
        with pytest.raises(aiosmtplib.SMTPException):
            await client.connect()
        client.close()
