"""A tiny authoritative DNS server on 127.0.0.1 (UDP, port 0) for tests, built on dnspython.

    with LocalDns({"example.test": {"MX": ["10 mx1.mail.ovh.net."]}}) as dns_server:
        resolver = dns_server.resolver()

Names in the zone with no record of the asked type get an empty NOERROR answer; names not in
the zone get NXDOMAIN; names listed in ``stall`` never get an answer (to test timeouts).
It runs in a thread, so sync tests (the CLI) and async tests can both use it.
"""

from __future__ import annotations

import socketserver
import threading
from collections.abc import Iterable, Mapping
from types import TracebackType

import dns.asyncresolver
import dns.message
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

Zone = Mapping[str, Mapping[str, Iterable[str]]]


def _key(name: str) -> str:
    return name.lower().rstrip(".") + "."


class LocalDns:
    def __init__(self, zone: Zone, *, stall: Iterable[str] = ()) -> None:
        self.records = {
            _key(name): {rtype.upper(): list(values) for rtype, values in types.items()}
            for name, types in zone.items()
        }
        self.stall = {_key(name) for name in stall}
        self.queries: list[tuple[str, str]] = []
        self._server: socketserver.ThreadingUDPServer | None = None

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.server_address[1])

    def resolver(self, *, timeout: float = 2.0) -> dns.asyncresolver.Resolver:
        resolver = dns.asyncresolver.Resolver(configure=False)
        resolver.nameservers = ["127.0.0.1"]
        resolver.port = self.port
        resolver.timeout = timeout
        resolver.lifetime = timeout
        return resolver

    def answer(self, wire: bytes) -> bytes | None:
        query = dns.message.from_wire(wire)
        response = dns.message.make_response(query)
        question = query.question[0]
        name = _key(question.name.to_text())
        rtype = dns.rdatatype.to_text(question.rdtype)
        self.queries.append((name, rtype))
        if name in self.stall:
            return None
        types = self.records.get(name)
        if types is None:
            response.set_rcode(dns.rcode.NXDOMAIN)
        elif types.get(rtype):
            response.answer.append(
                dns.rrset.from_text_list(question.name, 60, dns.rdataclass.IN, rtype, types[rtype])
            )
        return response.to_wire()

    def __enter__(self) -> LocalDns:
        outer = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                data, sock = self.request
                reply = outer.answer(data)
                if reply is not None:
                    sock.sendto(reply, self.client_address)

        self._server = socketserver.ThreadingUDPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
