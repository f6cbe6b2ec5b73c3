"""The watcher's :class:`~fluenzr.detection.mailbox.Mailbox` over an IMAP connection.

Connects with the account's credentials (opened by the worker, which holds the vault's private
key), honours its TLS policy (verified or pinned; cleartext only to loopback), logs in, and
speaks only read-only commands: EXAMINE, UID SEARCH, UID FETCH with BODY.PEEK, IDLE, NOOP.

Library exceptions (aioimaplib, ssl, OSError, timeouts) become :class:`MailError` here, once.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import re
import ssl
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import date
from typing import Any

import aioimaplib

from fluenzr.core.endpoints import Endpoint, Security, is_loopback
from fluenzr.detection.config import DetectionConfig
from fluenzr.detection.mailbox import MailboxInfo
from fluenzr.errors import MailError
from fluenzr.mail import tls
from fluenzr.services.context import AppContext

_UIDVALIDITY = re.compile(rb"\[UIDVALIDITY (\d+)\]")
_UIDNEXT = re.compile(rb"\[UIDNEXT (\d+)\]")
_EXISTS = re.compile(rb"^(\d+) EXISTS")
_FETCH_UID = re.compile(rb"UID (\d+)")
FETCH_CHUNK = 50
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


# Codes and message parameters are the IMAP rows of fluenzr.diagnose's taxonomy.
_WHERE: contextvars.ContextVar[dict[str, Any]] = contextvars.ContextVar("imap_where")


def _error(code: str, *, detail: str | None = None, **params: Any) -> MailError:
    return MailError(f"imap_{code}", params={**_WHERE.get({}), **params}, detail=detail)


@asynccontextmanager
async def _translated(step: str) -> AsyncIterator[None]:
    try:
        yield
    except MailError:
        raise
    except TimeoutError:
        raise _error("timeout", detail=step, command=step) from None
    except ssl.SSLCertVerificationError as exc:
        raise _error("certificate_invalid", detail=exc.verify_message) from None
    except ssl.SSLError as exc:
        raise _error("tls_failed", detail=str(exc)[:200]) from None
    except ConnectionRefusedError:
        raise _error("connection_refused", detail=step) from None
    except (OSError, EOFError) as exc:
        raise _error("server_disconnected", detail=f"{step}: {exc}"[:200]) from None
    except aioimaplib.Abort as exc:
        raise _error("unexpected_response", detail=str(exc)[:200], command=step) from None
    except aioimaplib.CommandTimeout:
        raise _error("timeout", detail=step, command=step) from None


def _check(response: Any, step: str) -> list[Any]:
    if getattr(response, "result", None) != "OK":
        lines = getattr(response, "lines", []) or []
        text = b" ".join(x for x in lines if isinstance(x, bytes)).decode("utf-8", "replace")
        raise _error("command_failed", detail=text[:300], command=step)
    return list(response.lines)


def _uid_set(uids: Sequence[int]) -> str:
    """Compact UID set: 1:5,9,12:14."""
    ordered = sorted(set(uids))
    parts: list[str] = []
    start = prev = ordered[0]
    for uid in ordered[1:]:
        if uid == prev + 1:
            prev = uid
            continue
        parts.append(f"{start}:{prev}" if prev != start else str(start))
        start = prev = uid
    parts.append(f"{start}:{prev}" if prev != start else str(start))
    return ",".join(parts)


class ImapMailbox:
    """One logged-in connection (implements :class:`~fluenzr.detection.mailbox.Mailbox`)."""

    def __init__(self, client: Any, *, timeout: float) -> None:
        self.client = client
        self.timeout = timeout
        # New mail the server announced inside another command's response (EXISTS during a
        # FETCH or NOOP): IDLE will not announce it again, so the next wait returns at once.
        self.unsynced_change = False
        self._spy_on_untagged()

    def _spy_on_untagged(self) -> None:
        """aioimaplib drops untagged responses no pending command asked for — including the
        "N EXISTS" Dovecot appends to a SEARCH or FETCH when mail arrives meanwhile. Note them
        (the protocol object is this connection's own), so that mail is not left for later."""
        protocol = getattr(self.client, "protocol", None)
        original = getattr(protocol, "_untagged_response", None)
        if protocol is None or original is None:
            return

        def noting(line: bytes) -> Any:
            if b"EXISTS" in line and _EXISTS.match(line.replace(b"* ", b"", 1)):
                self.unsynced_change = True
            return original(line)

        protocol._untagged_response = noting

    def _note_changes(self, lines: Sequence[Any]) -> None:
        if any(isinstance(x, bytes) and _EXISTS.match(x) for x in lines):
            self.unsynced_change = True

    @property
    def can_idle(self) -> bool:
        return bool(self.client.has_capability("IDLE"))

    async def examine(self, name: str) -> MailboxInfo:
        async with _translated("EXAMINE"):
            lines = _check(await self.client.examine(name), "EXAMINE")
        # aioimaplib only tracks SELECT; EXAMINE opens the mailbox just the same (read-only).
        self.client.protocol.state = "SELECTED"
        joined = [x for x in lines if isinstance(x, bytes | bytearray)]
        validity = next((m for x in joined if (m := _UIDVALIDITY.search(x))), None)
        uidnext = next((m for x in joined if (m := _UIDNEXT.search(x))), None)
        exists = next((m for x in joined if (m := _EXISTS.match(x))), None)
        if validity is None:
            raise _error("unexpected_response", detail="no UIDVALIDITY", command="EXAMINE")
        return MailboxInfo(
            uidvalidity=int(validity.group(1)),
            uidnext=int(uidnext.group(1)) if uidnext else None,
            exists=int(exists.group(1)) if exists else 0,
        )

    async def _search(self, criteria: str) -> list[int]:
        self.unsynced_change = False  # the search sees the mailbox as it is now
        async with _translated("UID SEARCH"):
            lines = _check(await self.client.uid_search(criteria), "UID SEARCH")
        out: list[int] = []
        for line in lines[:-1]:
            tokens = line.split() if isinstance(line, bytes | bytearray) else []
            # Untagged "5 EXISTS" / "1 RECENT" may ride along: only all-number lines are UIDs.
            if tokens and all(t.isdigit() for t in tokens):
                out.extend(int(t) for t in tokens)
        return out

    async def uids_from(self, first_uid: int) -> list[int]:
        return [u for u in await self._search(f"UID {max(first_uid, 1)}:*") if u >= first_uid]

    async def uids_since(self, day: date) -> list[int]:
        return await self._search(f"SINCE {day.day}-{_MONTHS[day.month - 1]}-{day.year}")

    async def _fetch(self, uids: Sequence[int], items: str) -> list[tuple[int, bytes]]:
        # aioimaplib re-scans a FETCH response on every line it receives (quadratic in its
        # length): many small commands are much cheaper than one large one.
        out: list[tuple[int, bytes]] = []
        for start in range(0, len(uids), FETCH_CHUNK):
            out.extend(await self._fetch_chunk(uids[start : start + FETCH_CHUNK], items))
        return out

    async def _fetch_chunk(self, uids: Sequence[int], items: str) -> list[tuple[int, bytes]]:
        if not uids:
            return []
        async with _translated("UID FETCH"):
            response = await self.client.uid("fetch", _uid_set(uids), items)
            lines = _check(response, "UID FETCH")
        self._note_changes(lines)
        out: list[tuple[int, bytes]] = []
        uid: int | None = None
        for line in lines:
            if isinstance(line, bytearray):
                if uid is not None:
                    out.append((uid, bytes(line)))
                uid = None
            elif isinstance(line, bytes) and b" FETCH " in line:
                found = _FETCH_UID.search(line)
                uid = int(found.group(1)) if found else None
        return sorted(out)

    async def fetch_headers(
        self, uids: Sequence[int], fields: Sequence[str]
    ) -> list[tuple[int, bytes]]:
        return await self._fetch(uids, f"(UID BODY.PEEK[HEADER.FIELDS ({' '.join(fields)})])")

    async def fetch_messages(self, uids: Sequence[int], *, limit: int) -> list[tuple[int, bytes]]:
        return await self._fetch(uids, f"(UID BODY.PEEK[]<0.{int(limit)}>)")

    async def wait_for_change(self, *, seconds: float, stop: asyncio.Event) -> bool:
        if self.unsynced_change:
            self.unsynced_change = False
            return True
        async with _translated("IDLE"):
            idle = await self.client.idle_start(timeout=seconds)
            push = asyncio.ensure_future(self.client.wait_server_push(timeout=seconds + 5))
            stopper = asyncio.ensure_future(stop.wait())
            changed = False
            try:
                done, _ = await asyncio.wait(
                    {push, stopper, idle}, return_when=asyncio.FIRST_COMPLETED
                )
                if push in done and not push.cancelled() and push.exception() is None:
                    changed = any(b"EXISTS" in bytes(x) for x in push.result() or [])
            finally:
                for task in (push, stopper):
                    task.cancel()
                if self.client.has_pending_idle():
                    self.client.idle_done()
                with contextlib.suppress(asyncio.TimeoutError, TimeoutError):
                    await asyncio.wait_for(idle, self.timeout)
        return changed

    async def poll(self) -> None:
        async with _translated("NOOP"):
            self._note_changes(_check(await self.client.noop(), "NOOP"))

    async def close(self) -> None:
        try:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.client.logout(), 2)
        finally:
            _drop(self.client)


def _drop(client: Any) -> None:
    """Close the socket whatever state the protocol is in (no leaked connections)."""
    transport = getattr(getattr(client, "protocol", None), "transport", None)
    if transport is not None and not transport.is_closing():
        transport.close()


def _small_tls_read_buffers() -> None:
    """asyncio gives every TLS connection a 256 KiB read buffer (``SSLProtocol.max_size``): a
    worker holding 1,000 idle IMAP sessions would spend 250 MB on buffers that are empty. A TLS
    record is at most 16 KiB, so 32 KiB loses nothing but a few extra reads on bulk fetches."""
    protocol: Any = getattr(asyncio, "sslproto", None)
    cls = getattr(protocol, "SSLProtocol", None)
    if cls is not None and getattr(cls, "max_size", 0) > TLS_READ_BUFFER:
        cls.max_size = TLS_READ_BUFFER


TLS_READ_BUFFER = 32 * 1024


def _check_pin(client: Any, endpoint: Endpoint) -> None:
    transport = getattr(client.protocol, "transport", None)
    ssl_object = transport.get_extra_info("ssl_object") if transport is not None else None
    try:
        tls.check_pin(endpoint.tls, ssl_object)
    except tls.PinMismatch:
        raise _error("certificate_invalid", detail="certificate does not match the pin") from None


def ssl_context(endpoint: Endpoint) -> ssl.SSLContext:
    return tls.client_context(endpoint.tls)


async def open_mailbox(endpoint: Endpoint, *, seconds: float) -> ImapMailbox:
    """Connect and log in. STARTTLS is not spoken here: accounts use IMAPS or loopback."""
    _WHERE.set({"host": endpoint.host, "port": endpoint.port, "username": endpoint.username})
    if endpoint.security is Security.NONE and not is_loopback(endpoint.host):
        raise _error("cleartext_not_allowed")
    if endpoint.security is Security.STARTTLS:
        raise _error("starttls_unsupported", detail="use IMAPS (993) for detection")
    _small_tls_read_buffers()
    client: Any = None
    try:
        async with _translated("connect"):
            if endpoint.security is Security.SSL:
                context = ssl_context(endpoint)
                client = aioimaplib.IMAP4_SSL(
                    endpoint.host, endpoint.port, timeout=seconds, ssl_context=context
                )
            else:
                client = aioimaplib.IMAP4(endpoint.host, endpoint.port, timeout=seconds)
            await asyncio.wait_for(client.wait_hello_from_server(), seconds)
            if endpoint.tls.pin_sha256:
                _check_pin(client, endpoint)  # before any password leaves this machine
            response = await client.login(endpoint.username, endpoint.password.reveal())
        if response.result != "OK":
            raise _error("auth_failed")  # params carry the user name, never the password
    except BaseException:
        if client is not None:
            _drop(client)
        raise
    return ImapMailbox(client, timeout=seconds)


async def connect_account(
    ctx: AppContext, *, account_id: int, config: DetectionConfig
) -> ImapMailbox:
    from fluenzr.services.accounts import open_credentials

    credentials = await asyncio.to_thread(open_credentials, ctx, account_id=account_id)
    if credentials.imap is None:
        raise _error("not_configured")
    return await open_mailbox(credentials.imap, seconds=config.connect_timeout)
