"""DNS lookups for diagnosis and autodetect, bounded in time, dnspython errors translated once.

Names reserved by RFC 6761 are answered without asking the network: ``localhost`` (and
``*.localhost``) is loopback, anything under ``.invalid`` does not exist.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import dns.asyncresolver
import dns.exception
import dns.nameserver
import dns.rdatatype
import dns.resolver
import dns.reversename

from fluenzr.config import Settings
from fluenzr.error_codes import ErrorCode
from fluenzr.errors import mail_error

DEFAULT_DNS_TIMEOUT = 4.0
MAX_TXT_RECORDS = 32  # a name with more TXT records than this is hostile or broken
MAX_TXT_CHARS = 4096  # one TXT record's joined strings, cut beyond (an SPF record is < 512)
MAX_PTR_RECORDS = 8


@functools.cache
def _configured_resolver(nameservers: tuple[tuple[str, int], ...]) -> dns.asyncresolver.Resolver:
    resolver = dns.asyncresolver.Resolver(configure=False)
    resolver.nameservers = [dns.nameserver.Do53Nameserver(host, port) for host, port in nameservers]
    return resolver


def configured_resolver(
    nameservers: Sequence[tuple[str, int]],
) -> dns.asyncresolver.Resolver | None:
    """The resolver for ``FLUENZR_DNS_SERVERS`` (built once per list); None = the system's."""
    if not nameservers:
        return None
    return _configured_resolver(tuple(nameservers))


def lookup_for(settings: Settings, *, timeout: float = DEFAULT_DNS_TIMEOUT) -> DnsLookup:
    """The lookup every diagnosis uses: the configured DNS servers, else the system's."""
    return DnsLookup(configured_resolver(settings.nameservers), timeout=timeout)


@dataclass(frozen=True)
class SrvRecord:
    priority: int
    weight: int
    port: int
    target: str  # without the trailing dot; "" means "service not available here" (RFC 2782)


def _literal(host: str) -> str | None:
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        return None


def _bare(host: str) -> str:
    return host.strip().lower().rstrip(".")


class DnsLookup:
    """Addresses, MX and SRV records through one resolver.

    ``resolver=None`` means the system: addresses via ``getaddrinfo`` (so ``/etc/hosts`` counts),
    MX/SRV via dnspython reading ``/etc/resolv.conf``. Tests pass a dnspython resolver aimed at a
    local DNS server; then every lookup goes there.
    """

    def __init__(
        self,
        resolver: dns.asyncresolver.Resolver | None = None,
        *,
        timeout: float = DEFAULT_DNS_TIMEOUT,
    ) -> None:
        self._resolver = resolver
        self.timeout = timeout

    def _dnspython(self) -> dns.asyncresolver.Resolver:
        if self._resolver is None:
            self._resolver = dns.asyncresolver.Resolver()
        return self._resolver

    async def addresses(self, host: str) -> list[str]:
        """IP addresses of ``host`` (IPv4 first); raises ``dns_not_found`` or ``timeout``."""
        name = _bare(host)
        literal = _literal(name)
        if literal is not None:
            return [literal]
        if name == "localhost" or name.endswith(".localhost"):
            return ["127.0.0.1", "::1"]
        if name.endswith(".invalid") or name == "invalid" or not name:
            raise mail_error(
                ErrorCode.DNS_NOT_FOUND, params={"host": host}, detail="NXDOMAIN (RFC 6761)"
            )
        if self._resolver is None:
            return await self._system_addresses(name)
        found: list[str] = []
        for rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA):
            found += [r.to_text() for r in await self._query(name, rdtype, missing_ok=True)]
        if not found:
            raise mail_error(
                ErrorCode.DNS_NOT_FOUND, params={"host": host}, detail="no A/AAAA record"
            )
        return found

    async def _system_addresses(self, name: str) -> list[str]:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.timeout):
                infos = await loop.getaddrinfo(name, None, type=socket.SOCK_STREAM)
        except TimeoutError as exc:
            raise mail_error(ErrorCode.TIMEOUT, params={"host": name, "stage": "dns"}) from exc
        except socket.gaierror as exc:
            raise mail_error(
                ErrorCode.DNS_NOT_FOUND, params={"host": name}, detail=exc.strerror
            ) from exc
        ordered = sorted(infos, key=lambda info: info[0] != socket.AF_INET)
        return list(dict.fromkeys(str(info[4][0]) for info in ordered))

    async def mx(self, domain: str) -> list[str]:
        """MX hosts by preference; [] when the domain has none (or a null MX, RFC 7505)."""
        answer = await self._query(_bare(domain), dns.rdatatype.MX, missing_ok=True)
        records = sorted(answer, key=lambda r: r.preference)
        hosts = [_bare(r.exchange.to_text()) for r in records]
        return [h for h in hosts if h]

    async def srv(self, name: str) -> list[SrvRecord]:
        """SRV records ordered by priority, then weight (heaviest first); [] when none."""
        answer = await self._query(_bare(name), dns.rdatatype.SRV, missing_ok=True)
        records = [
            SrvRecord(r.priority, r.weight, r.port, _bare(r.target.to_text())) for r in answer
        ]
        return sorted(records, key=lambda r: (r.priority, -r.weight))

    async def txt(self, name: str) -> list[str]:
        """TXT records of ``name``, each record's strings joined; [] when none (bounded)."""
        answer = await self._query(_bare(name), dns.rdatatype.TXT, missing_ok=True)
        out = []
        for record in answer[:MAX_TXT_RECORDS]:
            joined = b"".join(record.strings)[:MAX_TXT_CHARS]
            out.append(joined.decode("utf-8", "replace"))
        return out

    async def ptr(self, address: str) -> list[str]:
        """Reverse DNS names of an IP address (without the trailing dot); [] when none."""
        name = dns.reversename.from_address(address).to_text()
        answer = await self._query(name, dns.rdatatype.PTR, missing_ok=True)
        return [_bare(r.target.to_text()) for r in answer[:MAX_PTR_RECORDS]]

    async def dns_addresses(self, host: str) -> list[str]:
        """A and AAAA records through DNS only (no /etc/hosts): for forward confirmation."""
        found: list[str] = []
        for rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA):
            found += [r.to_text() for r in await self._query(_bare(host), rdtype, missing_ok=True)]
        return found

    async def _query(
        self, name: str, rdtype: dns.rdatatype.RdataType, *, missing_ok: bool
    ) -> list[Any]:
        resolver = self._dnspython()
        try:
            answer = await resolver.resolve(name, rdtype, lifetime=self.timeout, search=False)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer) as exc:
            if missing_ok:
                return []
            raise mail_error(ErrorCode.DNS_NOT_FOUND, params={"host": name}) from exc
        except dns.exception.Timeout as exc:
            raise mail_error(ErrorCode.TIMEOUT, params={"host": name, "stage": "dns"}) from exc
        except (dns.resolver.NoNameservers, dns.exception.DNSException) as exc:
            raise mail_error(
                ErrorCode.DNS_NOT_FOUND, params={"host": name}, detail=str(exc)
            ) from exc
        return list(answer)
