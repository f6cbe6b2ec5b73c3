"""The watcher's :class:`~fluenzr.detection.mailbox.Mailbox` over the transports' IMAP session.

Connection, TLS policy (verified or pinned; STARTTLS or implicit; cleartext only to loopback),
login and the translation of library errors into :class:`MailError` are
:mod:`fluenzr.mail.imap`'s. Detection only speaks read-only commands through it: EXAMINE,
UID SEARCH, UID FETCH with BODY.PEEK, IDLE.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from datetime import date
from typing import Any

from fluenzr.core import linear_re
from fluenzr.core.endpoints import OpenCredentials
from fluenzr.detection.config import DetectionConfig
from fluenzr.detection.host_gate import HostGate
from fluenzr.detection.mailbox import MailboxInfo
from fluenzr.error_codes import ErrorCode
from fluenzr.errors import MailError
from fluenzr.mail.imap import ImapSession, connect_imap

_EXISTS = linear_re.compile(rb"^(?:\* )?(\d+) EXISTS")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# aioimaplib re-scans a FETCH response on every line it receives (quadratic in its length):
# many small commands are much cheaper than one large one.
FETCH_CHUNK = 50


class ImapMailbox:
    """One logged-in session (implements :class:`~fluenzr.detection.mailbox.Mailbox`)."""

    def __init__(self, session: ImapSession) -> None:
        self.session = session
        # New mail the server announced inside another command's response (EXISTS during a
        # SEARCH or FETCH): IDLE will not announce it again, so the next wait returns at once.
        self.unsynced_change = False
        self._spy_on_untagged()

    def _spy_on_untagged(self) -> None:
        """aioimaplib drops untagged responses no pending command asked for — including the
        "N EXISTS" Dovecot appends to a SEARCH or FETCH when mail arrives meanwhile. Note them
        (the protocol object is this connection's own), so that mail is not left for later."""
        client = getattr(self.session, "_client", None)
        protocol = getattr(client, "protocol", None)
        original = getattr(protocol, "_untagged_response", None)
        if protocol is None or original is None:
            return

        def noting(line: bytes) -> Any:
            if b"EXISTS" in line and _EXISTS.match(line):
                self.unsynced_change = True
            return original(line)

        protocol._untagged_response = noting

    @property
    def can_idle(self) -> bool:
        return "IDLE" in self.session.capabilities

    async def examine(self, name: str) -> MailboxInfo:
        status = await self.session.select(name, read_only=True)
        if status.uidvalidity is None:
            raise MailError(
                ErrorCode.IMAP_UNEXPECTED_RESPONSE,
                params={"host": self.session.endpoint.host, "command": "EXAMINE"},
                detail="no UIDVALIDITY",
            )
        return MailboxInfo(
            uidvalidity=status.uidvalidity, uidnext=status.uidnext, exists=status.exists
        )

    async def uids_from(self, first_uid: int) -> list[int]:
        self.unsynced_change = False  # the search sees the mailbox as it is now
        found = await self.session.uid_search("UID", f"{max(first_uid, 1)}:*")
        return [u for u in found if u >= first_uid]

    async def uids_since(self, day: date) -> list[int]:
        self.unsynced_change = False
        return await self.session.uid_search(
            "SINCE", f"{day.day}-{_MONTHS[day.month - 1]}-{day.year}"
        )

    async def _fetch(
        self, uids: Sequence[int], section: str
    ) -> list[tuple[int, bytes, int | None]]:
        out: list[tuple[int, bytes, int | None]] = []
        ordered = sorted(set(uids))
        for start in range(0, len(ordered), FETCH_CHUNK):
            chunk = ordered[start : start + FETCH_CHUNK]
            fetched = await self.session.fetch(chunk, section=section)
            out.extend((m.uid, m.data, m.size) for m in fetched if m.uid in chunk)
        return sorted(out, key=lambda item: item[0])

    async def fetch_headers(
        self, uids: Sequence[int], fields: Sequence[str], *, limit: int
    ) -> list[tuple[int, bytes, int | None]]:
        # A partial fetch: a hostile message's megabytes of References never leave the server.
        section = f"RFC822.SIZE BODY.PEEK[HEADER.FIELDS ({' '.join(fields)})]<0.{int(limit)}>"
        return await self._fetch(uids, section)

    async def fetch_messages(self, uids: Sequence[int], *, limit: int) -> list[tuple[int, bytes]]:
        fetched = await self._fetch(uids, f"BODY.PEEK[]<0.{int(limit)}>")
        return [(uid, data) for uid, data, _ in fetched]

    async def wait_for_change(self, *, seconds: float, stop: asyncio.Event) -> bool:
        """IDLE until the server announces new mail (True), ``seconds`` pass or ``stop`` (False).

        Other pushes — Dovecot's "* OK Still here" every couple of minutes, EXPUNGE, FETCH
        flag updates — keep the same IDLE going: resyncing on each would cost every watched
        mailbox an EXAMINE, a SEARCH and a database write per keep-alive (83 a second for
        10,000 mailboxes at Dovecot's default 2 minutes)."""
        if self.unsynced_change:
            self.unsynced_change = False
            return True
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        await self.session.idle_start()
        stopper = asyncio.ensure_future(stop.wait())
        changed = False
        try:
            while not changed and not stop.is_set():
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                push = asyncio.ensure_future(self.session.idle_wait(timeout=remaining))
                try:
                    await asyncio.wait({push, stopper}, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    if not push.done():
                        push.cancel()
                        await asyncio.gather(push, return_exceptions=True)
                if push.done() and not push.cancelled():
                    changed = any(_EXISTS.match(line) for line in push.result())  # MailError
        finally:
            stopper.cancel()
        await self.session.idle_stop()
        return changed

    async def poll(self) -> None:
        # NOOP lets a server without IDLE report new mail; a UID SEARCH right after sees it.
        self.unsynced_change = True

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.session.logout()


async def open_mailbox(endpoint: Any, *, seconds: float) -> ImapMailbox:
    session = await connect_imap(endpoint, timeout=seconds)
    return ImapMailbox(session)


async def connect_account(
    open_credentials: OpenCredentials,
    *,
    account_id: int,
    config: DetectionConfig,
    gate: HostGate | None = None,
) -> ImapMailbox:
    """Log in to the account's IMAP server; ``gate`` bounds the set-up per server host."""
    credentials = await asyncio.to_thread(open_credentials, account_id)
    if credentials.imap is None:
        raise MailError(
            ErrorCode.IMAP_NOT_CONFIGURED,
            params={"host": "", "id": account_id, "field": "imap_host"},
        )
    if gate is None:
        return await open_mailbox(credentials.imap, seconds=config.connect_timeout)
    async with gate.slot(credentials.imap.host):
        return await open_mailbox(credentials.imap, seconds=config.connect_timeout)
