"""In-process SMTP servers on 127.0.0.1 port 0, with faults chosen per test.

Two kinds:

- :func:`smtp_server` — a real SMTP server (aiosmtpd) whose replies at each stage can be set:
  ``SmtpFaults(rcpt={"bad@x.test": "550 5.1.1 User unknown"}, message="452 4.5.3 …")``, no
  STARTTLS, AUTH offered before TLS, implicit TLS, any certificate. It records what it received
  (``server.received``: envelopes + content; ``server.auth``: attempts; ``server.plaintext``:
  every byte received before TLS) so a test can prove a password never crossed in clear.
- :func:`raw_server` — a tiny asyncio server for faults no real server produces on demand:
  accept and never speak (stall), a greeting of any code, hang up mid-DATA. See :mod:`behaviours`.

    async with smtp_server(SmtpFaults(starttls=False)) as server:
        endpoint = server.endpoint(Security.STARTTLS)
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from fluenzr.core.endpoints import Endpoint, Security, TlsPolicy
from fluenzr.core.secret import Secret
from tests.support.certs import ServerCert, pki

HOST = "127.0.0.1"
USER = "ana@fault.test"
PASSWORD = "correct horse battery staple"


@dataclass
class SmtpFaults:
    """What the aiosmtpd server does. Replies are full lines: ``"550 5.1.1 User unknown"``."""

    starttls: bool = True  # offer STARTTLS
    implicit_tls: bool = False  # TLS from the first byte (port 465 style)
    auth_before_tls: bool = False  # offer AUTH in clear (a bad server; we must not use it)
    cert: ServerCert | None = None  # default: a leaf of the test CA for 127.0.0.1
    password: str = PASSWORD
    auth_reply: str | None = None  # e.g. "535 5.7.8 Authentication credentials invalid"
    mail: str | None = None  # reply to MAIL FROM
    rcpt: dict[str, str] = field(default_factory=dict)  # recipient → reply
    message: str | None = None  # reply after the message's final dot
    message_replies: list[str] = field(default_factory=list)  # consumed one per message first


@dataclass
class Received:
    sender: str
    recipients: list[str]
    content: bytes


class _Handler:
    def __init__(self, server: FaultSmtpServer) -> None:
        self.server = server

    async def handle_MAIL(
        self, smtp: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.server.faults.mail:
            return self.server.faults.mail
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 2.1.0 OK"

    async def handle_RCPT(
        self, smtp: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        reply = self.server.faults.rcpt.get(address)
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, smtp: SMTP, session: Session, envelope: Envelope) -> str:
        faults = self.server.faults
        if faults.message_replies:
            reply = faults.message_replies.pop(0)
        else:
            reply = faults.message or "250 2.0.0 OK queued"
        if reply.startswith("2"):
            content = envelope.original_content or b""
            self.server.received.append(
                Received(envelope.mail_from or "", list(envelope.rcpt_tos), content)
            )
        return reply


class _TappingSMTP(SMTP):  # type: ignore[misc]
    """aiosmtpd's SMTP, recording every byte that arrives before TLS is up."""

    def __init__(self, server: FaultSmtpServer, **kwargs: Any) -> None:
        self._fault_server = server
        super().__init__(_Handler(server), **kwargs)

    def data_received(self, data: bytes) -> None:
        if self._tls_protocol is None and not self._fault_server.faults.implicit_tls:
            self._fault_server.plaintext.extend(data)
        super().data_received(data)


class FaultSmtpServer:
    def __init__(self, faults: SmtpFaults) -> None:
        self.faults = faults
        self.cert = faults.cert or pki().leaf()
        self.received: list[Received] = []
        self.auth: list[tuple[str, str, bool]] = []  # (mechanism, login, over TLS)
        self.plaintext = bytearray()
        self.connections = 0
        self.port = 0
        self._server: asyncio.Server | None = None
        self._protocols: list[SMTP] = []

    @property
    def ca_file(self) -> str:
        return pki().ca_file

    @property
    def ca_pem(self) -> str:
        return pki().ca_pem

    def endpoint(
        self,
        security: Security | None = None,
        *,
        password: str | None = None,
        tls: TlsPolicy | None = None,
        username: str = USER,
    ) -> Endpoint:
        chosen = security or (Security.SSL if self.faults.implicit_tls else Security.STARTTLS)
        return Endpoint(
            HOST,
            self.port,
            chosen,
            username,
            Secret(password if password is not None else self.faults.password),
            tls or TlsPolicy(ca_pem=self.ca_pem),
        )

    def saw_in_plaintext(self, secret: str) -> bool:
        """Did ``secret`` (raw, or base64 as AUTH PLAIN/LOGIN send it) arrive before TLS?"""
        raw = bytes(self.plaintext)
        encoded = secret.encode()
        plain = base64.b64encode(b"\0" + USER.encode() + b"\0" + encoded)
        return any(token in raw for token in (encoded, base64.b64encode(encoded), plain))

    def _authenticate(
        self, smtp: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        over_tls = smtp._tls_protocol is not None or self.faults.implicit_tls
        if isinstance(data, LoginPassword):
            login, password = data.login.decode(), data.password.decode()
        else:
            login, password = "", ""
        self.auth.append((mechanism, login, over_tls))
        if self.faults.auth_reply:
            code, _, text = self.faults.auth_reply.partition(" ")
            return AuthResult(success=False, handled=False, message=f"{code} {text}")
        ok = login == USER and password == self.faults.password
        return AuthResult(success=ok, handled=False)

    def _protocol(self) -> SMTP:
        self.connections += 1
        faults = self.faults
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # aiosmtpd warns about AUTH without TLS: on purpose
            protocol = _TappingSMTP(
                self,
                hostname="fault.fluenzr.test",
                ident="FluenzR fault server",
                tls_context=None if faults.implicit_tls or not faults.starttls else self._tls(),
                require_starttls=False,
                auth_require_tls=not (faults.auth_before_tls or faults.implicit_tls),
                authenticator=self._authenticate,
                loop=asyncio.get_running_loop(),
            )
        self._protocols.append(protocol)
        return protocol

    def _tls(self) -> Any:
        return self.cert.server_context()

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        ssl = self._tls() if self.faults.implicit_tls else None
        self._server = await loop.create_server(self._protocol, HOST, 0, ssl=ssl)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        # Server.close() leaves accepted connections open (Python 3.11): close them too.
        for protocol in self._protocols:
            for transport in (protocol._original_transport, protocol.transport):
                if transport is not None and not transport.is_closing():
                    transport.abort()
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(asyncio.TimeoutError, TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), 2)
        await asyncio.sleep(0)  # let the aborted transports finish closing


@contextlib.asynccontextmanager
async def smtp_server(faults: SmtpFaults | None = None) -> AsyncIterator[FaultSmtpServer]:
    server = FaultSmtpServer(faults or SmtpFaults())
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


# -- raw fault server -------------------------------------------------------------------------

Behaviour = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class RawServer:
    def __init__(self, behaviour: Behaviour) -> None:
        self.behaviour = behaviour
        self.port = 0
        self.received = bytearray()
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []

    def endpoint(
        self, security: Security = Security.STARTTLS, *, tls: TlsPolicy | None = None
    ) -> Endpoint:
        return Endpoint(HOST, self.port, security, USER, Secret(PASSWORD), tls or TlsPolicy())

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.append(writer)
        tapped = _TapReader(reader, self.received)
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            await self.behaviour(tapped, writer)  # type: ignore[arg-type]

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, HOST, 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        for writer in self._writers:
            writer.transport.abort()
        await asyncio.sleep(0)
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(asyncio.TimeoutError, TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), 2)


class _TapReader:
    """A StreamReader that keeps a copy of what it read."""

    def __init__(self, reader: asyncio.StreamReader, sink: bytearray) -> None:
        self._reader = reader
        self._sink = sink

    async def readline(self) -> bytes:
        line = await self._reader.readline()
        self._sink.extend(line)
        return line

    async def read(self, n: int = -1) -> bytes:
        data = await self._reader.read(n)
        self._sink.extend(data)
        return data


@contextlib.asynccontextmanager
async def raw_server(behaviour: Behaviour) -> AsyncIterator[RawServer]:
    server = RawServer(behaviour)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


async def closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens (bound then released)."""
    server = await asyncio.start_server(lambda r, w: None, HOST, 0)
    port: int = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    return port


class behaviours:
    """Ready-made raw behaviours."""

    @staticmethod
    def stall() -> Behaviour:
        """Accept the connection and never say anything."""

        async def run(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.read()  # until the client gives up

        return run

    @staticmethod
    def greet(reply: str) -> Behaviour:
        """Send one greeting line (e.g. ``421 4.3.2 Service not available``), then hang up."""

        async def run(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.write(reply.encode() + b"\r\n")
            await writer.drain()
            await reader.readline()
            writer.close()

        return run

    @staticmethod
    def script(
        replies: dict[str, str],
        *,
        drop_on: str | None = None,
        stall_on: str | None = None,
        ehlo: tuple[str, ...] = (),
    ) -> Behaviour:
        """A plain SMTP dialogue: ``replies`` maps a verb (``MAIL``, ``RCPT``, ``DATA``, ``.``
        for the end of the message) to its reply; others get 250. ``drop_on`` hangs up when that
        verb arrives (``"."`` = after the whole message, before the reply); ``stall_on`` never
        answers that verb."""

        async def run(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.write(b"220 raw.fluenzr.test ESMTP\r\n")
            in_data = False
            while line := await reader.readline():
                text = line.decode(errors="replace").rstrip("\r\n")
                verb = "." if in_data and text == "." else text.split(" ", 1)[0].upper()
                if in_data and verb != ".":
                    continue
                if verb == drop_on:
                    writer.transport.abort()
                    return
                if verb == stall_on:
                    await reader.read()  # never answer; wait for the client to give up
                    return
                if verb == "EHLO":
                    lines = ["250-raw.fluenzr.test", *[f"250-{e}" for e in ehlo], "250 8BITMIME"]
                    writer.write(("\r\n".join(lines) + "\r\n").encode())
                    continue
                default = {"DATA": "354 go ahead", "QUIT": "221 bye"}.get(verb, "250 OK")
                reply = replies.get(verb, default)
                in_data = verb == "DATA" and reply.startswith("354")
                writer.write(reply.encode() + b"\r\n")
                if verb == "QUIT":
                    writer.close()
                    return

        return run


__all__ = [
    "PASSWORD",
    "USER",
    "FaultSmtpServer",
    "RawServer",
    "Received",
    "SmtpFaults",
    "behaviours",
    "closed_port",
    "raw_server",
    "smtp_server",
]
