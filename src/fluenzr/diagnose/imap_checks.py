"""The IMAP half of Probar: the transport's session (:mod:`fluenzr.mail.imap`) taken one step at
a time — connect, TLS (implicit or STARTTLS), LOGIN, the test email in INBOX, the Sent folder.

INBOX is opened with EXAMINE (read-only) and the test email (its first 512 KB, for the
deliverability checks) is fetched with ``BODY.PEEK``, so it stays unseen. The transport
translates every library error into a code with scope ``imap`` and never sends LOGIN in clear.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from fluenzr.core.endpoints import Endpoint, Security
from fluenzr.diagnose import connect
from fluenzr.diagnose.domain_checks.headers import MAX_MESSAGE_BYTES
from fluenzr.diagnose.resolve import DnsLookup
from fluenzr.diagnose.runner import Done, Skip
from fluenzr.error_codes import ErrorCode, Scope
from fluenzr.errors import MailError, mail_error
from fluenzr.mail.imap import ImapSession

POLL_SECONDS = 0.2


@dataclass
class ImapRun:
    endpoint: Endpoint
    lookup: DnsLookup
    seconds: float
    wait: float  # how long to wait for the test email
    message_id: str | None = None  # set once the SMTP half has sent it
    addresses: list[str] = field(default_factory=list)
    session: ImapSession | None = None
    raw_mail: bytes | None = None  # the test mail's first MAX_MESSAGE_BYTES (deliverability)

    def params(self, **more: Any) -> dict[str, Any]:
        host, port = self.endpoint.host, self.endpoint.port
        return {"host": host, "port": port, "username": self.endpoint.username, **more}

    def require(self) -> ImapSession:
        assert self.session is not None, "the imap_tls step opens the session"
        return self.session


async def step_dns(run: ImapRun) -> Done:
    try:
        run.addresses = await run.lookup.addresses(run.endpoint.host)
    except MailError as error:
        dns = error.code is ErrorCode.DNS_NOT_FOUND
        code = ErrorCode.DNS_NOT_FOUND if dns else ErrorCode.TIMEOUT
        raise mail_error(
            code, params=run.params(), detail=error.detail, scope=Scope.IMAP
        ) from error
    return Done(", ".join(run.addresses))


async def step_tcp(run: ImapRun) -> Done:
    sock, address = await connect.open_tcp(
        run.endpoint, run.addresses, seconds=run.seconds, imap=True
    )
    sock.close()
    return Done(f"{address}:{run.endpoint.port}")


async def step_tls(run: ImapRun) -> Done:
    session = run.session = ImapSession(run.endpoint, timeout=run.seconds)
    await session.open()
    if run.endpoint.security is Security.NONE:
        return Done("no encryption (loopback)")
    await session.secure()  # STARTTLS when configured; nothing for implicit TLS
    certificate = session.certificate
    subject = f", {certificate.subject}" if certificate else ""
    return Done(f"{connect.trust_label(run.endpoint)}{subject}")


async def step_login(run: ImapRun) -> Done:
    await run.require().login()
    return Done(run.endpoint.username)


async def step_inbox(run: ImapRun, *, skip_reason: str) -> Done:
    session = run.require()
    message_id = run.message_id
    if message_id is None:
        raise Skip(skip_reason)
    await session.select("INBOX", read_only=True)
    started = time.monotonic()
    while True:
        uids = await session.search_message_id(message_id)
        elapsed = time.monotonic() - started
        if uids:
            break
        if elapsed >= run.wait:
            params = run.params(seconds=round(run.wait))
            raise mail_error(ErrorCode.TEST_MAIL_NOT_RECEIVED, params=params, detail=message_id)
        await asyncio.sleep(POLL_SECONDS)
    [found] = await session.fetch(uids[:1], section=f"BODY.PEEK[]<0.{MAX_MESSAGE_BYTES}>")
    run.raw_mail = found.data
    state = "seen" if "\\Seen" in found.flags else "unseen"
    return Done(f"INBOX UID {found.uid} after {elapsed:.1f} s, {state}")


async def step_sent(run: ImapRun) -> Done:
    folder = await run.require().find_sent_folder()
    if folder is None:
        return Done("", warning=mail_error(ErrorCode.SENT_FOLDER_NOT_FOUND, params=run.params()))
    how = "\\Sent" if "\\Sent" in folder.flags else "name"
    return Done(f"{folder.name} ({how})")


async def close(run: ImapRun) -> None:
    if run.session is not None:
        await run.session.logout()
