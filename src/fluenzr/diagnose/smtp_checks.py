"""The SMTP half of Probar: the transport's session (:mod:`fluenzr.mail.smtp`) taken one step at
a time, each step timed and described.

The transport translates every library error into a taxonomy code and enforces the security
rules (STARTTLS mandatory on ``starttls``, a pin checked before AUTH, never a password in clear);
these steps add what a diagnosis needs on top: a DNS step through the lookup seam, a plain TCP
step (so "refused" and "silent" are told apart from TLS trouble), and a hook that starts probing
other ports as soon as the server is slow.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import TypeVar

from fluenzr.core.endpoints import Endpoint, Security
from fluenzr.diagnose import connect
from fluenzr.diagnose.resolve import DnsLookup
from fluenzr.diagnose.runner import Done
from fluenzr.mail.smtp import SmtpSession

T = TypeVar("T")


@dataclass
class SmtpRun:
    endpoint: Endpoint
    email: str
    lookup: DnsLookup
    seconds: float  # connect and each reply
    mismatch_after: float  # silence after which other ports start being probed
    # Called once when the server is slow to answer (Probar then starts probing other ports).
    on_slow: Callable[[], None] | None = None
    addresses: list[str] = field(default_factory=list)
    session: SmtpSession | None = None

    def slow(self) -> None:
        if self.on_slow is not None:
            self.on_slow()
            self.on_slow = None

    def require(self) -> SmtpSession:
        assert self.session is not None, "the tls step opens the session"
        return self.session


async def _watching(run: SmtpRun, work: Awaitable[T]) -> T:
    """Await ``work``; if it takes longer than ``mismatch_after``, tell the run it is slow."""
    task = asyncio.ensure_future(work)
    done, _ = await asyncio.wait({task}, timeout=run.mismatch_after)
    if not done:
        run.slow()
    return await task


async def step_dns(run: SmtpRun) -> Done:
    run.addresses = await run.lookup.addresses(run.endpoint.host)
    return Done(", ".join(run.addresses))


async def step_tcp(run: SmtpRun) -> Done:
    opening = connect.open_tcp(run.endpoint, run.addresses, seconds=run.seconds)
    sock, address = await _watching(run, opening)
    sock.close()
    return Done(f"{address}:{run.endpoint.port}")


async def step_tls(run: SmtpRun) -> Done:
    """Greeting, and TLS: implicit (SSL) or STARTTLS (then the EHLO after it too)."""
    session = run.session = SmtpSession(run.endpoint, timeout=run.seconds)
    await _watching(run, session.open())
    if run.endpoint.security is Security.NONE:
        return Done("no encryption (loopback)")
    if run.endpoint.security is Security.STARTTLS:
        await session.hello()
    certificate = session.certificate
    subject = f", {certificate.subject}" if certificate else ""
    return Done(f"{session.tls_version}, {connect.trust_label(run.endpoint)}{subject}")


async def step_ehlo(run: SmtpRun) -> Done:
    session = run.require()
    if run.endpoint.security is not Security.STARTTLS:  # STARTTLS already said EHLO after TLS
        await session.hello()
    names = sorted(session.capabilities.extensions)
    return Done(", ".join(name.upper() for name in names) or "HELO only")


async def step_auth(run: SmtpRun) -> Done:
    session = run.require()
    mechanism = await session.login()
    offered = " ".join(session.capabilities.auth_mechanisms)
    return Done(f"{mechanism} ({offered})")


async def send_message(run: SmtpRun, message: EmailMessage) -> str:
    """MAIL, RCPT, DATA to the account itself; the server's final reply (queue id)."""
    session = run.require()
    result = await session.send(message.as_bytes(), sender=run.email, recipients=[run.email])
    error = result.error(host=run.endpoint.host)
    if error is not None:
        raise error
    return f"{result.reply.reply_code} {result.reply.text}"


async def close(run: SmtpRun) -> None:
    if run.session is not None:
        await run.session.quit()
