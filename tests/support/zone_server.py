"""An authoritative DNS server on 127.0.0.1 (UDP, port 0) serving zone-file text, built on
dnslib's packaged server (``dnslib.server.DNSServer`` + ``dnslib.zoneresolver.ZoneResolver``).

    with ZoneServer(zone_text) as dns_server:
        lookup = dns_server.lookup()

The deliverability tests use it: each case is a zone (good, missing SPF, p=none, …). Long TXT
values (DKIM keys) are split into 255-byte strings by :func:`txt`.
"""

from __future__ import annotations

import threading
from types import TracebackType

import dns.asyncresolver
import dns.nameserver
from dnslib.server import DNSLogger, DNSServer
from dnslib.zoneresolver import ZoneResolver

from fluenzr.diagnose.resolve import DnsLookup


def txt(value: str) -> str:
    """A TXT rdata in zone syntax: quoted 255-character strings (RFC 1035 §3.3.14)."""
    chunks = [value[i : i + 255] for i in range(0, len(value), 255)] or [""]
    return " ".join('"' + c.replace("\\", "\\\\").replace('"', '\\"') + '"' for c in chunks)


class ZoneServer:
    def __init__(self, zone: str) -> None:
        self.zone = zone
        self._server: DNSServer | None = None

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.server.server_address[1])

    def resolver(self, *, timeout: float = 2.0) -> dns.asyncresolver.Resolver:
        resolver = dns.asyncresolver.Resolver(configure=False)
        resolver.nameservers = [dns.nameserver.Do53Nameserver("127.0.0.1", self.port)]
        resolver.timeout = timeout
        resolver.lifetime = timeout
        return resolver

    def lookup(self, *, timeout: float = 2.0) -> DnsLookup:
        return DnsLookup(self.resolver(timeout=timeout), timeout=timeout)

    def __enter__(self) -> ZoneServer:
        resolver = ZoneResolver(self.zone)
        quiet = DNSLogger(log="-request,-reply,-truncated,-error,-recv,-send,-data", prefix=False)
        self._server = DNSServer(resolver, address="127.0.0.1", port=0, logger=quiet)
        # dnslib's start_thread() polls every 0.5 s, which each stop() then waits for.
        serve = self._server.server.serve_forever
        threading.Thread(target=serve, args=(0.05,), daemon=True).start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._server is not None:
            self._server.server.shutdown()
            self._server.server.server_close()
