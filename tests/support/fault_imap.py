"""A small in-process IMAP server on 127.0.0.1 port 0, with faults chosen per test.

It speaks just enough IMAP4rev1 for connection tests (CAPABILITY, STARTTLS, LOGIN, LIST,
SELECT/EXAMINE, NOOP, IDLE with chosen pushes, LOGOUT) and records what it received, so a test
can prove LOGIN never crossed in clear. Real IMAP behaviour (search, fetch, append, IDLE) is
tested against Dovecot. (pymap was considered for an in-process "real" server; Dovecot already
covers that tier, and the faults below are what no real server produces on demand.)

    async with imap_server(ImapFaults(starttls=False)) as server:
        endpoint = server.endpoint(Security.STARTTLS)
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from fluenzr.core.endpoints import Endpoint, Security, TlsPolicy
from fluenzr.core.secret import Secret
from tests.support.certs import ServerCert, pki

HOST = "127.0.0.1"
USER = "ana@fault.test"
PASSWORD = "imap secret 123"
DEFAULT_FOLDERS = (
    '(\\HasNoChildren) "/" INBOX',
    '(\\HasNoChildren \\Sent) "/" "Sent"',
)


@dataclass
class ImapFaults:
    starttls: bool = True  # offer STARTTLS on the plain port
    implicit_tls: bool = False
    cert: ServerCert | None = None
    greeting: str = "* OK [CAPABILITY IMAP4rev1] FluenzR fault IMAP ready"
    stall: bool = False  # accept, never speak
    login_disabled: bool = False  # advertise LOGINDISABLED before TLS
    login_reply: str | None = None  # e.g. "NO [AUTHENTICATIONFAILED] Authentication failed."
    folders: tuple[str, ...] = DEFAULT_FOLDERS  # LIST lines after "* LIST "
    drop_on: str | None = None  # hang up when this command arrives
    stall_on: str | None = None  # never answer this command
    idle_pushes: tuple[str, ...] = ()  # untagged lines sent during IDLE, e.g. "* OK Still here"


@dataclass
class FaultImapServer:
    faults: ImapFaults
    port: int = 0
    plaintext: bytearray = field(default_factory=bytearray)
    logins: list[tuple[str, bool]] = field(default_factory=list)  # (user, over TLS)
    commands: list[str] = field(default_factory=list)
    cert: ServerCert | None = None
    _server: asyncio.Server | None = None
    _writers: list[asyncio.StreamWriter] = field(default_factory=list)
    idle_pushed: asyncio.Event = field(default_factory=asyncio.Event)  # IDLE pushes all sent

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
        password: str = PASSWORD,
        tls: TlsPolicy | None = None,
    ) -> Endpoint:
        chosen = security or (Security.SSL if self.faults.implicit_tls else Security.STARTTLS)
        return Endpoint(
            HOST, self.port, chosen, USER, Secret(password), tls or TlsPolicy(ca_pem=self.ca_pem)
        )

    def saw_in_plaintext(self, secret: str) -> bool:
        return secret.encode() in bytes(self.plaintext)

    async def start(self) -> None:
        self.cert = self.faults.cert or pki().leaf()
        ssl = self.cert.server_context() if self.faults.implicit_tls else None
        self._server = await asyncio.start_server(self._serve, HOST, 0, ssl=ssl)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        for writer in self._writers:
            writer.transport.abort()
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), 2)
        await asyncio.sleep(0)
        # After a client refuses our certificate during STARTTLS, Python 3.11 leaves a
        # StreamWriter without transport whose __del__ fails; collect it now, inside the test
        # that caused it (which ignores that one unraisable error), not in a later test.
        gc.collect()

    def _capabilities(self, *, tls: bool) -> str:
        caps = ["IMAP4rev1", "IDLE", "SPECIAL-USE"]
        if not tls and self.faults.starttls and not self.faults.implicit_tls:
            caps.append("STARTTLS")
        if not tls and self.faults.login_disabled:
            caps.append("LOGINDISABLED")
        return " ".join(caps)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.append(writer)
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError, OSError):
            if self.faults.stall:
                await reader.read()
                return
            writer.write(self.faults.greeting.encode() + b"\r\n")
            if not self.faults.greeting.startswith("* OK"):
                await writer.drain()
                writer.close()
                return
            await self._dialogue(reader, writer, tls=self.faults.implicit_tls)

    async def _dialogue(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, tls: bool
    ) -> None:
        while line := await reader.readline():
            if not tls:
                self.plaintext.extend(line)
            tag, _, rest = line.decode(errors="replace").rstrip("\r\n").partition(" ")
            command, _, args = rest.partition(" ")
            command = command.upper()
            self.commands.append(command)
            if command == self.faults.drop_on:
                writer.transport.abort()
                return
            if command == self.faults.stall_on:
                await reader.read()
                return
            if command == "STARTTLS" and not tls and self.faults.starttls:
                writer.write(f"{tag} OK Begin TLS negotiation now\r\n".encode())
                await writer.drain()
                assert self.cert is not None
                await writer.start_tls(self.cert.server_context())
                tls = True
                continue
            if command == "IDLE":
                await self._idle(tag, reader, writer)
                continue
            reply = self._reply(tag, command, args, tls=tls)
            writer.write(reply.encode())
            await writer.drain()
            if command == "LOGOUT":
                writer.close()
                return

    async def _idle(
        self, tag: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        writer.write(b"+ idling\r\n")
        for line in self.faults.idle_pushes:
            writer.write(line.encode() + b"\r\n")
            await writer.drain()
        self.idle_pushed.set()
        await reader.readline()  # DONE
        self.commands.append("DONE")
        writer.write(f"{tag} OK Idle completed\r\n".encode())
        await writer.drain()

    def _reply(self, tag: str, command: str, args: str, *, tls: bool) -> str:
        if command == "CAPABILITY":
            return f"* CAPABILITY {self._capabilities(tls=tls)}\r\n{tag} OK done\r\n"
        if command == "LOGIN":
            user = args.split(" ", 1)[0].strip('"')
            self.logins.append((user, tls))
            if self.faults.login_reply:
                return f"{tag} {self.faults.login_reply}\r\n"
            ok = args == f'{USER} "{PASSWORD}"' or args == f'"{USER}" "{PASSWORD}"'
            if ok:
                return f"{tag} OK [CAPABILITY {self._capabilities(tls=tls)}] Logged in\r\n"
            return f"{tag} NO [AUTHENTICATIONFAILED] Authentication failed.\r\n"
        if command == "LIST":
            lines = "".join(f"* LIST {folder}\r\n" for folder in self.faults.folders)
            return f"{lines}{tag} OK List completed\r\n"
        if command in {"SELECT", "EXAMINE"}:
            return f"* 0 EXISTS\r\n* OK [UIDVALIDITY 7] ok\r\n{tag} OK [READ-ONLY] done\r\n"
        if command == "NOOP":
            return f"{tag} OK done\r\n"
        if command == "LOGOUT":
            return f"* BYE bye\r\n{tag} OK done\r\n"
        return f"{tag} BAD unknown command\r\n"


@contextlib.asynccontextmanager
async def imap_server(faults: ImapFaults | None = None) -> AsyncIterator[FaultImapServer]:
    server = FaultImapServer(faults or ImapFaults())
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


__all__ = ["PASSWORD", "USER", "FaultImapServer", "ImapFaults", "imap_server"]
