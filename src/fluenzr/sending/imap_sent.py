"""The two IMAP operations the sending system needs: APPEND to Sent, search Sent by Message-ID.

aioimaplib's errors and replies are translated here into :class:`ImapFailure`.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager, suppress
from typing import Any

import aioimaplib

from fluenzr.core.endpoints import Endpoint, Security, is_loopback
from fluenzr.sending.smtp_session import tls_context

# When no folder carries \Sent (RFC 6154): the names providers and clients use.
SENT_NAMES = (
    "Sent",
    "Sent Items",
    "Sent Messages",
    "Sent Mail",
    "Enviados",
    "Elementos enviados",
    "Envoyés",
    "&AMk-l&AOk-ments envoy&AOk-s",  # "Éléments envoyés" in modified UTF-7
    "INBOX.Sent",
    "INBOX/Sent",
)
_LIST_LINE = re.compile(r'^\((?P<attrs>[^)]*)\) (?:"(?:[^"\\]|\\.)*"|NIL) (?P<name>.+)$')


class ImapFailure(Exception):
    """Could not reach, log in to, or write the mailbox (text has no secret)."""


def _quote(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _ok(response: Any, what: str) -> Any:
    if getattr(response, "result", None) != "OK":
        lines = getattr(response, "lines", [])
        text = lines[-1].decode(errors="replace") if lines and isinstance(lines[-1], bytes) else ""
        raise ImapFailure(f"{what}: {text}".strip(": "))
    return response


@asynccontextmanager
async def _logged_in(endpoint: Endpoint, *, seconds: float) -> AsyncIterator[Any]:
    if endpoint.security is Security.SSL:
        client: Any = aioimaplib.IMAP4_SSL(
            endpoint.host, endpoint.port, timeout=seconds, ssl_context=tls_context(endpoint)
        )
    elif endpoint.security is Security.NONE and is_loopback(endpoint.host):
        client = aioimaplib.IMAP4(endpoint.host, endpoint.port, timeout=seconds)
    else:
        # aioimaplib has no STARTTLS; never log in over cleartext to a remote server.
        raise ImapFailure("IMAP STARTTLS is not supported for the copy to Sent; use SSL (993)")
    try:
        await asyncio.wait_for(client.wait_hello_from_server(), seconds)
        _ok(await client.login(endpoint.username, endpoint.password.reveal()), "login")
        yield client
    except (OSError, TimeoutError, aioimaplib.Abort) as exc:
        raise ImapFailure(type(exc).__name__ + (f": {exc}" if str(exc) else "")) from None
    finally:
        with suppress(OSError, TimeoutError, aioimaplib.Abort):
            await asyncio.wait_for(client.logout(), 2)


async def sent_folder(client: Any) -> str:
    response = _ok(await client.list('""', "*"), "list")
    names: list[str] = []
    for raw in response.lines:
        line = raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)
        match = _LIST_LINE.match(line.strip())
        if not match:
            continue
        name = match.group("name").strip()
        name = name[1:-1].replace('\\"', '"') if name.startswith('"') else name
        if "\\Sent" in match.group("attrs").split():
            return name
        names.append(name)
    lower = {n.lower(): n for n in names}
    for known in SENT_NAMES:
        if known.lower() in lower:
            return lower[known.lower()]
    raise ImapFailure("no Sent folder")


async def append_sent(
    endpoint: Endpoint, messages: Sequence[bytes], *, seconds: float
) -> list[str | None]:
    """APPEND each message to Sent over one connection: None or an error text per message."""
    async with _logged_in(endpoint, seconds=seconds) as client:
        folder = await sent_folder(client)
        out: list[str | None] = []
        for data in messages:
            try:
                _ok(await client.append(data, mailbox=_quote(folder), flags=r"(\Seen)"), "append")
            except ImapFailure as exc:
                out.append(str(exc))
            else:
                out.append(None)
        return out


async def sent_contains(endpoint: Endpoint, message_id: str, *, seconds: float) -> bool:
    async with _logged_in(endpoint, seconds=seconds) as client:
        folder = await sent_folder(client)
        _ok(await client.select(_quote(folder)), "select")
        wanted = message_id.strip("<>").replace('"', "")
        response = _ok(await client.uid_search(f'HEADER Message-ID "<{wanted}>"'), "search")
        for raw in response.lines:
            line = raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)
            if line.startswith("SEARCH") or line.split()[:1] == ["SEARCH"]:
                return len(line.split()) > 1
            if line and line.split()[0].isdigit():
                return True
        return False
