"""The two IMAP operations the sending system needs: APPEND to Sent, search Sent by Message-ID.

Both run on the shared transport :class:`fluenzr.mail.imap.ImapSession` (implicit TLS,
STARTTLS, pinning, cleartext only to loopback); its failures are :class:`MailError` with scope
``imap``, or ``sent_folder_not_found`` when no folder is flagged ``\\Sent`` and none
has a usual name. Nothing here touches the IMAP library.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from fluenzr.core.endpoints import Endpoint
from fluenzr.error_codes import ErrorCode
from fluenzr.errors import MailError, mail_error
from fluenzr.mail.imap import Folder, ImapSession, connect_imap


@asynccontextmanager
async def _sent_folder(
    endpoint: Endpoint, *, seconds: float
) -> AsyncIterator[tuple[ImapSession, Folder]]:
    """A logged-in session and the account's Sent folder; LOGOUT (bounded) at the end."""
    session = await connect_imap(endpoint, timeout=seconds)
    async with session:
        folder = await session.find_sent_folder()
        if folder is None:
            params = {"host": endpoint.host, "port": endpoint.port, "username": endpoint.username}
            raise mail_error(ErrorCode.SENT_FOLDER_NOT_FOUND, params=params)
        yield session, folder


def describe(error: MailError) -> str:
    """A short, secret-free text for ``copy_error`` and logs: the code, then the detail."""
    return f"{error.code}: {error.detail}" if error.detail else error.code


async def append_sent(
    endpoint: Endpoint, messages: Sequence[bytes], *, seconds: float
) -> list[str | None]:
    """APPEND each message to Sent (flagged \\Seen) over one connection.

    Returns None or an error text per message. Raises :class:`MailError` when the mailbox
    cannot be reached, logged in to, or has no Sent folder (then no message was copied)."""
    async with _sent_folder(endpoint, seconds=seconds) as (session, folder):
        out: list[str | None] = []
        for data in messages:
            try:
                await session.append(data, folder=folder, flags=("\\Seen",))
            except MailError as exc:
                out.append(describe(exc))
                if exc.code is not ErrorCode.IMAP_COMMAND_FAILED:
                    # The connection is gone: the rest are retried later; the copies already
                    # made stay recorded as done (no duplicate in Sent).
                    out += [out[-1]] * (len(messages) - len(out))
                    break
            else:
                out.append(None)
        return out


async def sent_contains(endpoint: Endpoint, message_id: str, *, seconds: float) -> bool:
    """Whether a message with this Message-ID is in the Sent folder (crash recovery)."""
    wanted = message_id.strip().strip("<>")
    if not wanted or any(c in wanted for c in '\r\n"\\'):
        return False  # we never generate such an id; nothing can match it
    async with _sent_folder(endpoint, seconds=seconds) as (session, folder):
        await session.select(folder, read_only=True)
        return bool(await session.search_message_id(f"<{wanted}>"))
