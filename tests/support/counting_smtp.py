"""A real aiosmtpd server (:class:`FaultSmtpServer`) that counts its concurrent sessions.

Bulk Probar promises a provider never sees more than N parallel connections from us. This
server measures that on the server side: ``open`` sessions now, ``max_open`` ever. A shared
:class:`Tally` adds the sessions of several servers (several hosts), and an optional ``gate``
holds every EHLO until it is set, so a test can prove two hosts were tested *at the same time*
without timing anything: the gate opens when enough sessions are open at once.

    tally = Tally(release_at=4)
    async with counting_server("127.0.0.1", tally) as a, counting_server("127.0.0.2", tally) as b:
        ...
    assert a.max_open <= 3 and tally.max_open >= 4
"""

from __future__ import annotations

import asyncio
import contextlib
import warnings
from collections.abc import AsyncIterator
from typing import Any

from aiosmtpd.smtp import SMTP

from tests.support.certs import pki
from tests.support.fault_smtp import FaultSmtpServer, SmtpFaults, _TappingSMTP

GATE_SECONDS = 10.0  # only a wrong implementation ever waits this long (then its test fails)


class Tally:
    """Sessions open across servers; opens ``gate`` once ``release_at`` are open together."""

    def __init__(self, release_at: int | None = None) -> None:
        self.open = 0
        self.max_open = 0
        self.release_at = release_at
        self.gate = asyncio.Event()
        if release_at is None:
            self.gate.set()
        self._waiters: list[tuple[int, asyncio.Event]] = []

    def opened(self) -> None:
        self.open += 1
        self.max_open = max(self.max_open, self.open)
        if self.release_at is not None and self.open >= self.release_at:
            self.gate.set()
        for count, reached in self._waiters:
            if self.open >= count:
                reached.set()

    async def until_open(self, count: int) -> None:
        """Wait until ``count`` sessions are open at once."""
        reached = asyncio.Event()
        self._waiters.append((count, reached))
        if self.open >= count:
            reached.set()
        await reached.wait()

    def closed(self) -> None:
        self.open -= 1


class _CountingSMTP(_TappingSMTP):
    def __init__(self, server: CountingSmtpServer, **kwargs: Any) -> None:
        self._counting = server
        self._counted = False
        super().__init__(server, **kwargs)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # STARTTLS calls this again with the TLS transport: one TCP connection is counted once.
        if not self._counted:
            self._counted = True
            self._counting.opened()
        super().connection_made(transport)

    def connection_lost(self, error: Exception | None) -> None:
        if self._counted:
            self._counted = False
            self._counting.closed()
        super().connection_lost(error)

    async def smtp_EHLO(self, arg: str) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._counting.tally.gate.wait(), GATE_SECONDS)
        await super().smtp_EHLO(arg)


class CountingSmtpServer(FaultSmtpServer):
    def __init__(self, host: str, tally: Tally, faults: SmtpFaults | None = None) -> None:
        chosen = faults or SmtpFaults(cert=pki().leaf(host))
        super().__init__(chosen)
        self.host = host
        self.tally = tally
        self.open = 0
        self.max_open = 0
        self.sessions = 0

    def opened(self) -> None:
        self.open += 1
        self.sessions += 1
        self.max_open = max(self.max_open, self.open)
        self.tally.opened()

    def closed(self) -> None:
        self.open -= 1
        self.tally.closed()

    def _protocol(self) -> SMTP:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # aiosmtpd warns about AUTH without TLS
            protocol = _CountingSMTP(
                self,
                hostname="count.fluenzr.test",
                ident="FluenzR counting server",
                tls_context=self.cert.server_context(),
                require_starttls=False,
                auth_require_tls=True,
                authenticator=self._authenticate,
                loop=asyncio.get_running_loop(),
            )
        self._protocols.append(protocol)
        return protocol

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._protocol, self.host, 0)
        self.port = self._server.sockets[0].getsockname()[1]


@contextlib.asynccontextmanager
async def counting_server(host: str, tally: Tally) -> AsyncIterator[CountingSmtpServer]:
    server = CountingSmtpServer(host, tally)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()
