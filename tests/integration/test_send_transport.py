"""The sending engine on the shared SMTP transport: one reused connection per account, a
connection the server closed while idle is replaced, cleartext relays without AUTH."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from fluenzr.config import load_settings
from fluenzr.core.endpoints import Endpoint, Security
from fluenzr.core.secret import Secret
from fluenzr.mail.smtp import SmtpSession, connect_smtp
from fluenzr.sending.connections import Connections
from fluenzr.sending.worker import WorkerOptions
from fluenzr.services.context import AppContext, open_app
from fluenzr.services.runtime import credentials_opener, sending_worker
from tests.integration.send_support import FakeClock, add_account, enqueue, message
from tests.support.fault_smtp import RawServer


@pytest.fixture
def ctx(home: Path) -> Iterator[AppContext]:
    app = open_app(load_settings(home=home, smtp_timeout=2.0))
    app.clock = FakeClock()
    yield app
    app.close()


@pytest.fixture
async def server() -> AsyncIterator[RawServer]:
    fault = await RawServer().start()
    yield fault
    await fault.stop()


def _account(ctx: AppContext, server: RawServer, **fields: object) -> int:
    return add_account(
        ctx, email="ana@fault.test", password="pw", port=server.port, security="none", **fields
    )


async def test_one_connection_carries_the_accounts_messages(
    ctx: AppContext, server: RawServer
) -> None:
    account_id = _account(ctx, server)
    ids = [enqueue(ctx, account_id, f"bob{n}@example.org").id for n in range(3)]
    await sending_worker(ctx, WorkerOptions(poll=0.02)).run(until_idle=True)
    assert {message(ctx, i).status for i in ids} == {"sent"}
    assert len(server.delivered) == 3
    assert server.connections == 1
    assert server.commands.count("AUTH") == 1


async def test_cleartext_relay_without_auth_is_used_without_login(
    ctx: AppContext, server: RawServer
) -> None:
    server.replies["ehlo"] = ""  # e.g. a local relay on loopback, with the explicit "no auth" flag
    queued = enqueue(ctx, _account(ctx, server, smtp_auth=False), "bob@example.org")
    await sending_worker(ctx, WorkerOptions(poll=0.02)).run(until_idle=True)
    assert message(ctx, queued.id).status == "sent"
    assert "AUTH" not in server.commands
    assert len(server.delivered) == 1


async def test_a_relay_without_auth_is_refused_unless_the_account_says_no_auth(
    ctx: AppContext, server: RawServer
) -> None:
    # An open local MTA must not become an unauthenticated relay by accident.
    server.replies["ehlo"] = ""
    queued = enqueue(ctx, _account(ctx, server), "bob@example.org")
    await sending_worker(ctx, WorkerOptions(poll=0.02)).run(until_idle=True)
    assert message(ctx, queued.id).status != "sent"
    assert server.mail_from == []
    assert server.delivered == []


async def test_a_connection_closed_while_idle_is_replaced(
    ctx: AppContext, server: RawServer
) -> None:
    account_id = _account(ctx, server)
    connections = Connections(ctx, open_credentials=credentials_opener(ctx))
    try:
        first, reused = await connections.get(account_id, changed_at=None)
        assert (first.alive, reused) == (True, False)
        assert (await connections.get(account_id, changed_at=None))[1] is True
        server.hang_up()
        for _ in range(100):  # the client notices the hang-up on its next loop turns
            if not first.alive:
                break
            await asyncio.sleep(0.01)
        second, reused = await connections.get(account_id, changed_at=None)
        assert (second is first, reused, server.connections) == (False, False, 2)
    finally:
        await connections.close_all()


async def test_transport_says_whether_it_is_connected(server: RawServer) -> None:
    endpoint = Endpoint(
        host="127.0.0.1",
        port=server.port,
        security=Security.NONE,
        username="ana@fault.test",
        password=Secret("pw"),
    )
    session = SmtpSession(endpoint, timeout=2)
    assert session.connected is False
    await session.open()
    await session.hello()
    assert session.connected is True
    await session.quit()
    assert session.connected is False


async def test_body_8bitmime_only_for_8bit_messages(server: RawServer) -> None:
    endpoint = Endpoint(
        host="127.0.0.1",
        port=server.port,
        security=Security.NONE,
        username="ana@fault.test",
        password=Secret("pw"),
    )
    async with await connect_smtp(endpoint, timeout=2) as smtp:
        for body in ("plain ascii", "mañana"):
            raw = f"Subject: x\r\n\r\n{body}\r\n".encode()
            result = await smtp.send(raw, sender="ana@fault.test", recipients=["bob@example.org"])
            assert result.ok
    assert ["BODY=8BITMIME" in line for line in server.mail_from] == [False, True]


async def test_unreachable_imap_keeps_the_copy_pending_with_its_error_code(
    ctx: AppContext, server: RawServer
) -> None:
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    account_id = add_account(
        ctx,
        email="ana@fault.test",
        password="pw",
        port=server.port,
        security="none",
        imap_port=closed,
        imap_security="none",
    )
    queued = enqueue(ctx, account_id, "bob@example.org")
    await sending_worker(ctx, WorkerOptions(poll=0.02)).run(until_idle=True)
    row = message(ctx, queued.id)
    assert (row.status, row.sent_copy, row.copy_attempts) == ("sent", "pending", 1)
    assert row.copy_error is not None
    assert row.copy_error.startswith("connection_refused")
    assert len(server.delivered) == 1  # the mail itself is never re-sent for its copy
