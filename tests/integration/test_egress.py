"""The egress policy on real loopback servers: refused after resolution, before any byte is
sent, again on the connected socket, and through every transport (SMTP, IMAP, HTTP).

Only loopback can be a test target, so "a name that resolves to a private address" and "DNS
rebinding" are played with the resolver seam (``fluenzr.mail.egress.set_resolver``)."""

from __future__ import annotations

import asyncio
import dataclasses
import socket
from collections.abc import AsyncIterator, Iterator, Sequence

import httpx
import pytest

from fluenzr.core.egress import EgressPolicy
from fluenzr.core.endpoints import Endpoint, Security
from fluenzr.core.secret import Secret
from fluenzr.errors import MailError
from fluenzr.mail import egress
from fluenzr.mail.egress import EgressRefused
from fluenzr.mail.egress_http import egress_client
from fluenzr.mail.imap import connect_imap
from fluenzr.mail.smtp import SmtpSession, connect_smtp
from tests.support.fault_imap import imap_server
from tests.support.fault_smtp import RawServer, smtp_server

MULTI = EgressPolicy.MULTI_TENANT
SINGLE = EgressPolicy.SINGLE_USER


class Counter:
    """A TCP server on 127.0.0.1 that only counts the connections it accepts."""

    def __init__(self) -> None:
        self.accepted = 0
        self.port = 0
        self._server: asyncio.Server | None = None

    async def start(self) -> Counter:
        async def handle(_r: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.accepted += 1
            writer.close()

        self._server = await asyncio.start_server(handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()


@pytest.fixture
async def counter() -> AsyncIterator[Counter]:
    server = await Counter().start()
    yield server
    await server.stop()


class FakeResolver:
    """name → successive answers (the last one repeats); every lookup is logged."""

    def __init__(self) -> None:
        self.answers: dict[str, list[list[str]]] = {}
        self.calls: list[str] = []

    def __setitem__(self, name: str, answers: list[list[str]]) -> None:
        self.answers[name] = answers

    async def __call__(self, host: str, port: int) -> Sequence[str]:
        self.calls.append(host)
        queue = self.answers[host]
        return queue.pop(0) if len(queue) > 1 else queue[0]


@pytest.fixture
def resolver() -> Iterator[FakeResolver]:
    fake = FakeResolver()
    egress.set_resolver(fake)
    yield fake
    egress.set_resolver(None)


async def test_multi_tenant_refuses_a_loopback_server_before_connecting(
    counter: Counter,
) -> None:
    with pytest.raises(EgressRefused) as caught:
        await egress.open_socket("127.0.0.1", counter.port, policy=MULTI, purpose="mail", timeout=5)
    assert caught.value.kind == "loopback"
    sock = await egress.open_socket(
        "127.0.0.1", counter.port, policy=SINGLE, purpose="mail", timeout=5
    )
    sock.close()
    await asyncio.sleep(0.05)
    assert counter.accepted == 1  # only the single-user connection arrived


async def test_a_name_resolving_to_a_private_address_is_refused(
    counter: Counter, resolver: FakeResolver
) -> None:
    resolver["mail.example.com"] = [["127.0.0.1"]]
    resolver["lan.example.com"] = [["192.168.1.20"]]
    resolver["meta.example.com"] = [["169.254.169.254"]]
    for name, kind in (
        ("mail.example.com", "loopback"),
        ("lan.example.com", "private"),
        ("meta.example.com", "metadata"),
    ):
        with pytest.raises(EgressRefused) as caught:
            await egress.open_socket(name, counter.port, policy=MULTI, purpose="mail", timeout=5)
        assert caught.value.kind == kind
    assert counter.accepted == 0


async def test_rebinding_cannot_move_a_checked_connection(
    counter: Counter, resolver: FakeResolver
) -> None:
    # First answer allowed (single-user, loopback), then a metadata address: the connection
    # uses the one answer it checked — the name is never resolved again for that connection.
    resolver["rebind.example.com"] = [["127.0.0.1"], ["169.254.169.254"]]
    sock = await egress.open_socket(
        "rebind.example.com", counter.port, policy=SINGLE, purpose="mail", timeout=5
    )
    assert sock.getpeername()[0] == "127.0.0.1"
    sock.close()
    assert resolver.calls == ["rebind.example.com"]
    # The next connection resolves again and gets the new answer: refused, never connected.
    with pytest.raises(EgressRefused):
        await egress.open_socket(
            "rebind.example.com", counter.port, policy=SINGLE, purpose="mail", timeout=5
        )


async def test_the_connected_peer_is_checked_again(counter: Counter) -> None:
    # Whatever was resolved, a socket whose peer is forbidden is refused before any byte.
    raw = socket.create_connection(("127.0.0.1", counter.port))
    try:
        egress.check_peer(raw, host="127.0.0.1", policy=SINGLE, purpose="mail")
        with pytest.raises(EgressRefused) as caught:
            egress.check_peer(raw, host="public.example.com", policy=MULTI, purpose="mail")
        assert caught.value.address == "127.0.0.1"
    finally:
        raw.close()


async def test_smtp_transport_refuses_under_multi_tenant_and_sends_nothing() -> None:
    fault = await RawServer().start()
    try:
        endpoint = Endpoint("127.0.0.1", fault.port, Security.NONE, "u", Secret("pw"))
        with pytest.raises(MailError) as caught:
            await connect_smtp(dataclasses.replace(endpoint, egress=MULTI), timeout=5)
        assert caught.value.code == "egress_refused"
        assert fault.connections == 0
        async with await connect_smtp(endpoint, timeout=5):
            pass
        assert fault.connections == 1
    finally:
        await fault.stop()


async def test_smtp_over_tls_through_the_checked_socket_still_verifies_the_name() -> None:
    async with smtp_server() as server:
        async with await connect_smtp(server.endpoint(), timeout=5) as smtp:
            assert smtp.secure
        with pytest.raises(MailError) as caught:
            await connect_smtp(dataclasses.replace(server.endpoint(), egress=MULTI), timeout=5)
        assert caught.value.code == "egress_refused"
        assert server.auth == [(server.auth[0][0], server.auth[0][1], True)]  # one login only


async def test_imap_transport_refuses_under_multi_tenant() -> None:
    async with imap_server() as server:
        with pytest.raises(MailError) as caught:
            await connect_imap(dataclasses.replace(server.endpoint(), egress=MULTI), timeout=5)
        assert caught.value.code == "egress_refused"
        assert server.commands == []
        async with await connect_imap(server.endpoint(), timeout=5) as imap:
            assert imap.secure_transport
        assert len(server.logins) == 1


async def test_no_auth_is_refused_under_multi_tenant_even_when_the_account_says_so() -> None:
    fault = await RawServer().start()
    fault.replies["ehlo"] = ""
    try:
        relay = Endpoint(
            "127.0.0.1", fault.port, Security.NONE, "u", Secret("pw"), authenticate=False
        )
        async with await connect_smtp(relay, timeout=5) as smtp:
            assert smtp.mechanism == "none"  # single-user + explicit flag: allowed
        # The same account under multi-tenant (the rule is checked at AUTH time; the socket was
        # opened under single-user only because a loopback server is all a test can reach).
        session = SmtpSession(relay, timeout=5)
        await session.open()
        try:
            await session.hello()
            session.endpoint = dataclasses.replace(relay, egress=MULTI)
            with pytest.raises(MailError) as caught:
                await session.login()
            assert caught.value.code == "no_auth_not_allowed"
        finally:
            await session.aclose()
        # Without the flag, a server that offers no AUTH is refused before MAIL FROM.
        with pytest.raises(MailError) as refused:
            await connect_smtp(dataclasses.replace(relay, authenticate=True), timeout=5)
        assert refused.value.code == "auth_mechanism_unsupported"
        assert fault.mail_from == []
    finally:
        await fault.stop()


async def test_http_client_refuses_loopback_under_multi_tenant(counter: Counter) -> None:
    url = f"http://127.0.0.1:{counter.port}/"
    async with egress_client(policy=MULTI, purpose="http", timeout=5) as client:
        with pytest.raises(EgressRefused):
            await client.get(url)
    async with egress_client(policy=SINGLE, purpose="webhook", timeout=5) as client:
        with pytest.raises(EgressRefused) as caught:
            await client.get("http://169.254.169.254/latest/meta-data/")
        assert caught.value.kind == "metadata"
        with pytest.raises(httpx.HTTPError):
            await client.get(url)  # allowed: it connects (the counter hangs up at once)
    assert counter.accepted == 1
