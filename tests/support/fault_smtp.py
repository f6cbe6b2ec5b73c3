"""In-process SMTP servers on 127.0.0.1 port 0, with faults chosen per test.

Two kinds:

- :func:`smtp_server` — a real SMTP server (aiosmtpd) whose replies at each stage can be set:
  ``SmtpFaults(rcpt={"bad@x.test": "550 5.1.1 User unknown"}, message="452 4.5.3 …")``, no
  STARTTLS, AUTH offered before TLS, implicit TLS, any certificate. It records what it received
  (``server.received``: envelopes + content; ``server.auth``: attempts; ``server.plaintext``:
  every byte received before TLS) so a test can prove a password never crossed in clear.
- :func:`raw_server` / :class:`RawServer` — a scripted asyncio SMTP server for faults no real
  server produces on demand: any reply at any stage, read live (a test may change it between
  worker runs), accept and never speak, hang up mid-DATA, answer late. See :class:`RawServer`.

    async with smtp_server(SmtpFaults(starttls=False)) as server:
        endpoint = server.endpoint(Security.STARTTLS)
    async with raw_server({"greeting": "stall"}) as server:  # accepts, never speaks
        ...
    server = await RawServer(replies={"dot": "slow:1.5"}).start()  # a fixture's own lifetime
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import warnings
from collections.abc import AsyncIterator
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


# -- scripted raw server ----------------------------------------------------------------------


@dataclass
class RawServer:
    """A tiny asyncio SMTP server for what no real server does on demand: any reply at any stage,
    drop, stall, late answers.

    ``replies`` maps a stage to a reply line or an action, read at the moment the stage happens
    (so a test can change it between worker runs). Stages: ``greeting``, ``ehlo`` (the extension
    lines after the host name, one per line; default ``AUTH PLAIN LOGIN``; ``8BITMIME`` is always
    last), ``auth``, ``mail``, ``rcpt`` (or ``rcpt:<address>``), ``data`` (the DATA command) and
    ``dot`` (after the message); an ``auth`` reply starting ``334`` is followed by ``auth_final``.
    Actions: ``"drop"`` (close the connection; for ``dot``, in the
    middle of the message), ``"stall"`` (never answer; wait for the client to give up) and
    ``"slow:<seconds>"`` (answer normally, late). A greeting that is not 2xx ends the session
    after the client's next line, as RFC 5321 §3.1 has it.

    It records ``connections``, ``commands`` (verbs, in order), ``mail_from`` (whole MAIL lines),
    ``delivered`` (messages accepted after the dot) and ``received`` (every byte read).
    """

    replies: dict[str, str] = field(default_factory=dict)
    delivered: list[bytes] = field(default_factory=list)
    connections: int = 0
    port: int = 0
    commands: list[str] = field(default_factory=list)
    mail_from: list[str] = field(default_factory=list)
    received: bytearray = field(default_factory=bytearray)
    auth_answers: list[bytes] = field(default_factory=list)  # client lines after a 334
    _server: asyncio.Server | None = None
    _writers: list[asyncio.StreamWriter] = field(default_factory=list)

    def endpoint(
        self, security: Security = Security.STARTTLS, *, tls: TlsPolicy | None = None
    ) -> Endpoint:
        return Endpoint(HOST, self.port, security, USER, Secret(PASSWORD), tls or TlsPolicy())

    async def start(self) -> RawServer:
        self._server = await asyncio.start_server(self._handle, HOST, 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        for writer in self._writers:
            writer.transport.abort()
        await asyncio.sleep(0)
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(asyncio.TimeoutError, TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), 2)

    def hang_up(self) -> None:
        """Close every open connection from the server's side (an idle timeout)."""
        for writer in self._writers:
            writer.close()

    async def _readline(self, reader: asyncio.StreamReader) -> bytes:
        line = await reader.readline()
        self.received.extend(line)
        return line

    async def _reply(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        stage: str,
        default: str,
    ) -> bool:
        """Answer a stage; False when the connection was dropped."""
        action = self.replies.get(stage, default)
        if action.startswith("slow:"):  # "slow:<seconds>" then the default reply
            await asyncio.sleep(float(action[5:]))
            action = default
        if action == "stall":
            self.received.extend(await reader.read())  # until the client gives up
            return False
        if action == "drop":
            writer.close()
            return False
        writer.write(action.encode() + b"\r\n")
        await writer.drain()
        return True

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writers.append(writer)
        try:
            greeting = self.replies.get("greeting", "220 fault.test ESMTP")
            if await self._reply(reader, writer, "greeting", "220 fault.test ESMTP"):
                if greeting.startswith(("2", "slow:")):
                    await self._session(reader, writer)
                else:
                    await self._readline(reader)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    def _ehlo(self) -> bytes:
        extensions = self.replies.get("ehlo", "AUTH PLAIN LOGIN").splitlines()
        lines = ["250-fault.test", *(f"250-{e}" for e in extensions if e), "250 8BITMIME"]
        return ("\r\n".join(lines) + "\r\n").encode()

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while line := await self._readline(reader):
            verb = line.decode(errors="replace").strip()
            upper = verb.upper()
            self.commands.append(upper.split(" ", 1)[0])
            if upper.startswith(("EHLO", "HELO")):
                writer.write(self._ehlo())
            elif upper.startswith("AUTH"):
                if not await self._reply(reader, writer, "auth", "235 2.7.0 ok"):
                    return
                if self.replies.get("auth", "").startswith("334"):
                    # An SASL challenge (e.g. XOAUTH2's error JSON): the client's answer, then
                    # the final reply ("auth_final").
                    self.auth_answers.append(await self._readline(reader))
                    if not await self._reply(reader, writer, "auth_final", "535 5.7.8 failed"):
                        return
            elif upper.startswith("MAIL"):
                self.mail_from.append(verb)
                if not await self._reply(reader, writer, "mail", "250 2.1.0 ok"):
                    return
            elif upper.startswith("RCPT"):
                address = verb.split(":", 1)[1].strip().strip("<>").lower()
                stage = f"rcpt:{address}" if f"rcpt:{address}" in self.replies else "rcpt"
                if not await self._reply(reader, writer, stage, "250 2.1.5 ok"):
                    return
            elif upper == "DATA":
                if not await self._reply(reader, writer, "data", "354 go ahead"):
                    return
                if not await self._message(reader, writer):
                    return
                continue
            elif upper == "QUIT":
                writer.write(b"221 bye\r\n")
                await writer.drain()
                return
            else:
                writer.write(b"250 ok\r\n")
            await writer.drain()

    async def _message(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        lines: list[bytes] = []
        while True:
            line = await self._readline(reader)
            if not line:
                return False
            if self.replies.get("dot") == "drop" and len(lines) > 3:
                writer.close()  # in the middle of the message
                return False
            if line in (b".\r\n", b".\n"):
                break
            lines.append(line[1:] if line.startswith(b"..") else line)
        ok = self.replies.get("dot", "250 2.0.0 queued").startswith(("250", "slow:"))
        if not await self._reply(reader, writer, "dot", "250 2.0.0 queued"):
            return False
        if ok:
            self.delivered.append(b"".join(lines))
        return True


@contextlib.asynccontextmanager
async def raw_server(replies: dict[str, str] | None = None) -> AsyncIterator[RawServer]:
    server = await RawServer(replies=dict(replies or {})).start()
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


__all__ = [
    "PASSWORD",
    "USER",
    "FaultSmtpServer",
    "RawServer",
    "Received",
    "SmtpFaults",
    "closed_port",
    "raw_server",
    "smtp_server",
]
