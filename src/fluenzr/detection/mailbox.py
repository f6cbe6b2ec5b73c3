"""The seam between the watcher and an IMAP connection: what detection needs, nothing more.

Implemented over the transports' IMAP client (:mod:`fluenzr.detection.imap_adapter`); tests
point it at the real Dovecot. Every method raises :class:`fluenzr.errors.MailError` on failure.
Nothing here may change a flag: mailboxes are opened read-only (EXAMINE) and bodies are fetched
with BODY.PEEK.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol


@dataclass(frozen=True)
class MailboxInfo:
    uidvalidity: int
    uidnext: int | None
    exists: int


class Mailbox(Protocol):
    """One logged-in IMAP connection."""

    @property
    def can_idle(self) -> bool: ...

    async def examine(self, name: str) -> MailboxInfo: ...

    async def uids_from(self, first_uid: int) -> list[int]:
        """UIDs >= first_uid (UID SEARCH UID n:*, without the '*' quirk)."""
        ...

    async def uids_since(self, day: date) -> list[int]:
        """UIDs of messages whose internal date is on or after ``day`` (UID SEARCH SINCE)."""
        ...

    async def fetch_headers(
        self, uids: Sequence[int], fields: Sequence[str], *, limit: int
    ) -> list[tuple[int, bytes, int | None]]:
        """(uid, header bytes, RFC822.SIZE) via RFC822.SIZE BODY.PEEK[HEADER.FIELDS (...)]<0.limit>,
        in UID order: at most ``limit`` bytes of header fields per message."""
        ...

    async def fetch_messages(self, uids: Sequence[int], *, limit: int) -> list[tuple[int, bytes]]:
        """(uid, the first ``limit`` bytes of the message) via BODY.PEEK[]<0.limit>."""
        ...

    async def wait_for_change(self, *, seconds: float, stop: asyncio.Event) -> bool:
        """IDLE until the server reports new mail (True), ``seconds`` pass or ``stop`` (False)."""
        ...

    async def poll(self) -> None:
        """Called every ``poll_interval`` on servers without IDLE, before a catch-up search."""
        ...

    async def close(self) -> None: ...
