"""A short greeting probe: does ``host:port`` speak SMTP/IMAP in the given TLS mode?

It connects (with implicit TLS for ``ssl``), reads the server's greeting and checks it is the
protocol's (``220`` for SMTP, ``* OK`` for IMAP). It never logs in and sends nothing. Used by
autodetect (guessing hosts) and by Probar (suggesting a port that really answers).
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fluenzr.core.egress import EgressPolicy, refusal
from fluenzr.core.endpoints import Security, TlsPolicy
from fluenzr.diagnose.resolve import DnsLookup
from fluenzr.errors import MailError
from fluenzr.mail.tls import client_context, inspection_context

_GREETINGS = {"smtp": (b"220",), "imap": (b"* OK", b"* PREAUTH")}


@dataclass(frozen=True)
class ProbeTarget:
    protocol: str  # "smtp" | "imap"
    host: str
    port: int
    security: Security


@dataclass(frozen=True)
class ProbeOutcome:
    target: ProbeTarget
    answered: bool  # the protocol's greeting came back in this TLS mode
    verified: bool  # implicit TLS with a certificate valid for the host
    duration_ms: int
    detail: str = ""


ProbeFunc = Callable[[ProbeTarget], Awaitable[ProbeOutcome]]


class GreetingProbe:
    """The default probe. ``tls`` is the trust to check certificates with (system store)."""

    def __init__(
        self,
        *,
        lookup: DnsLookup,
        timeout: float,
        tls: ssl.SSLContext | None = None,
        egress: EgressPolicy = EgressPolicy.SINGLE_USER,
    ) -> None:
        self._lookup = lookup
        self._timeout = timeout
        self._egress = egress
        self._tls = tls or client_context(TlsPolicy())  # the system store (cached)

    async def __call__(self, target: ProbeTarget) -> ProbeOutcome:
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self._timeout):
                answered, verified, detail = await self._run(target)
        except TimeoutError:
            answered, verified, detail = False, False, "timeout"
        except MailError as exc:
            answered, verified, detail = False, False, exc.code
        except OSError as exc:
            answered, verified, detail = False, False, exc.strerror or type(exc).__name__
        elapsed = int((time.perf_counter() - started) * 1000)
        return ProbeOutcome(target, answered, verified, elapsed, detail)

    async def _run(self, target: ProbeTarget) -> tuple[bool, bool, str]:
        address = (await self._lookup.addresses(target.host))[0]
        if refusal(address, policy=self._egress, purpose="mail") is not None:
            return False, False, "egress_refused"  # never connect where the policy forbids
        implicit = target.security is Security.SSL
        verified = False
        try:
            reader, writer = await asyncio.open_connection(
                address,
                target.port,
                ssl=self._tls if implicit else None,
                server_hostname=target.host if implicit else None,
            )
            verified = implicit
        except ssl.SSLCertVerificationError as exc:
            # A TLS server is there; its certificate is not valid for this name. Look anyway.
            reader, writer = await asyncio.open_connection(
                address, target.port, ssl=inspection_context(), server_hostname=target.host
            )
            detail = exc.verify_message or "certificate not verified"
            return await _greeting(reader, writer, target.protocol), False, detail
        return await _greeting(reader, writer, target.protocol), verified, ""


async def _greeting(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, protocol: str
) -> bool:
    try:
        line = await reader.readline()
        return line.startswith(_GREETINGS[protocol])
    finally:
        writer.close()
        with contextlib.suppress(OSError, ssl.SSLError):
            await writer.wait_closed()
