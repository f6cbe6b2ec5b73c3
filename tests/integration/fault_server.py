"""A tiny asyncio SMTP server for sending tests: any reply at any stage, drop, stall.

``replies`` maps a stage to a reply line or an action, read at the moment the stage happens
(so a test can change it between worker runs): stages ``greeting``, ``auth``, ``mail``,
``rcpt`` (or ``rcpt:<address>``), ``data`` (the DATA command) and ``dot`` (after the message);
actions ``"drop"`` (close the connection; for ``dot`` in the middle of the message),
``"stall"`` (never answer) and ``"slow:<seconds>"`` (answer normally, late). Messages accepted
after the dot are kept in ``delivered``.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field


@dataclass
class FaultServer:
    replies: dict[str, str] = field(default_factory=dict)
    delivered: list[bytes] = field(default_factory=list)
    connections: int = 0
    port: int = 0
    auth: bool = True  # advertise AUTH (a local relay may not)
    commands: list[str] = field(default_factory=list)  # verbs received, in order
    mail_from: list[str] = field(default_factory=list)  # whole MAIL lines (with parameters)
    _server: asyncio.Server | None = None
    _writers: list[asyncio.StreamWriter] = field(default_factory=list)

    async def start(self) -> FaultServer:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def hang_up(self) -> None:
        """Close every open connection from the server's side (an idle timeout)."""
        for writer in self._writers:
            writer.close()

    async def _reply(self, writer: asyncio.StreamWriter, stage: str, default: str) -> bool:
        """Answer a stage; False when the connection was dropped."""
        action = self.replies.get(stage, default)
        if action.startswith("slow:"):  # "slow:<seconds>" then the default reply
            await asyncio.sleep(float(action[5:]))
            action = default
        if action == "stall":
            await asyncio.sleep(3600)
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
            if await self._reply(writer, "greeting", "220 fault.test ESMTP"):
                await self._session(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while line := await reader.readline():
            verb = line.decode(errors="replace").strip()
            upper = verb.upper()
            self.commands.append(upper.split(" ", 1)[0])
            if upper.startswith(("EHLO", "HELO")):
                auth = b"250-AUTH PLAIN LOGIN\r\n" if self.auth else b""
                writer.write(b"250-fault.test\r\n" + auth + b"250 8BITMIME\r\n")
            elif upper.startswith("AUTH"):
                if not await self._reply(writer, "auth", "235 2.7.0 ok"):
                    return
            elif upper.startswith("MAIL"):
                self.mail_from.append(verb)
                if not await self._reply(writer, "mail", "250 2.1.0 ok"):
                    return
            elif upper.startswith("RCPT"):
                address = verb.split(":", 1)[1].strip().strip("<>").lower()
                stage = f"rcpt:{address}" if f"rcpt:{address}" in self.replies else "rcpt"
                if not await self._reply(writer, stage, "250 2.1.5 ok"):
                    return
            elif upper == "DATA":
                if not await self._reply(writer, "data", "354 go ahead"):
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
            line = await reader.readline()
            if not line:
                return False
            if self.replies.get("dot") == "drop" and len(lines) > 3:
                writer.close()  # in the middle of the message
                return False
            if line in (b".\r\n", b".\n"):
                break
            lines.append(line[1:] if line.startswith(b"..") else line)
        ok = self.replies.get("dot", "250 2.0.0 queued").startswith(("250", "slow:"))
        if not await self._reply(writer, "dot", "250 2.0.0 queued"):
            return False
        if ok:
            self.delivered.append(b"".join(lines))
        return True
