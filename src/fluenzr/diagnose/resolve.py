"""DNS lookups for diagnosis and autodetect, bounded in time, dnspython errors translated once.

Names reserved by RFC 6761 are answered without asking the network: ``localhost`` (and
``*.localhost``) is loopback, anything under ``.invalid`` does not exist.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from typing import Any

import dns.asyncresolver
import dns.exception
import dns.rdatatype
import dns.resolver

from fluenzr.error_codes import ErrorCode
from fluenzr.errors import mail_error

DEFAULT_DNS_TIMEOUT = 4.0


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
        except TimeoutError:
            raise mail_error(ErrorCode.TIMEOUT, params={"host": name, "stage": "dns"}) from None
        except socket.gaierror as exc:
            raise mail_error(
                ErrorCode.DNS_NOT_FOUND, params={"host": name}, detail=exc.strerror
            ) from None
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

    async def _query(
        self, name: str, rdtype: dns.rdatatype.RdataType, *, missing_ok: bool
    ) -> list[Any]:
        resolver = self._dnspython()
        try:
            answer = await resolver.resolve(name, rdtype, lifetime=self.timeout, search=False)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            if missing_ok:
                return []
            raise mail_error(ErrorCode.DNS_NOT_FOUND, params={"host": name}) from None
        except dns.exception.Timeout:
            raise mail_error(ErrorCode.TIMEOUT, params={"host": name, "stage": "dns"}) from None
        except (dns.resolver.NoNameservers, dns.exception.DNSException) as exc:
            raise mail_error(
                ErrorCode.DNS_NOT_FOUND, params={"host": name}, detail=str(exc)
            ) from None
        return list(answer)
