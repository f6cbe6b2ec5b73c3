"""Every SMTP reply class, a drop in the middle of DATA and a stall, against in-process servers.

Each case checks what happens to the message and to the account, and that nothing is lost or
sent twice once the server behaves again.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from fluenzr.config import load_settings
from fluenzr.sending.worker import WorkerOptions
from fluenzr.services.context import AppContext, open_app
from fluenzr.services.runtime import sending_worker
from fluenzr.storage.base import aware
from fluenzr.storage.engine import transaction
from fluenzr.storage.models import Account, Event
from fluenzr.storage.models.outbox import OutboxRecipient
from tests.integration.send_support import FakeClock, add_account, enqueue, message
from tests.support.fault_smtp import RawServer


@pytest.fixture
def ctx(home: Path) -> Iterator[AppContext]:
    app = open_app(load_settings(home=home, smtp_timeout=1.0))
    app.clock = FakeClock()
    yield app
    app.close()


@pytest.fixture
async def server() -> AsyncIterator[RawServer]:
    fault = await RawServer().start()
    yield fault
    await fault.stop()


def _account(ctx: AppContext, server: RawServer) -> int:
    return add_account(
        ctx, email="ana@fault.test", password="pw", port=server.port, security="none"
    )


async def _run(ctx: AppContext) -> None:
    await sending_worker(ctx, WorkerOptions(poll=0.02)).run(until_idle=True)


def _account_row(ctx: AppContext, account_id: int) -> Account:
    with ctx.sessions() as session:
        row = session.get(Account, account_id)
        assert row is not None
        return row


def _events(ctx: AppContext, type_: str) -> list[dict[str, Any]]:
    with ctx.sessions() as session:
        rows = session.scalars(select(Event).where(Event.type == type_).order_by(Event.id))
        return [json.loads(e.data) for e in rows]


def _clock(ctx: AppContext) -> FakeClock:
    assert isinstance(ctx.clock, FakeClock)
    return ctx.clock


@pytest.mark.parametrize(
    ("stage", "reply", "reason"),
    [
        ("mail", "450 4.3.2 Service busy, try later", "temporary_failure"),
        ("dot", "451 4.3.0 Local error in processing", "temporary_failure"),
        ("rcpt", "452 4.3.1 Insufficient system storage", "temporary_failure"),
        ("rcpt", "450 4.2.2 Mailbox full", "mailbox_full"),
    ],
)
async def test_4xx_defers_then_delivers_once(
    ctx: AppContext, server: RawServer, stage: str, reply: str, reason: str
) -> None:
    account_id = _account(ctx, server)
    queued = enqueue(ctx, account_id, "bob@example.org")
    server.replies[stage] = reply
    await _run(ctx)
    row = message(ctx, queued.id)
    assert (row.status, row.reason, row.attempts) == ("deferred", reason, 1)
    assert row.next_attempt_at is not None and aware(row.next_attempt_at) > ctx.clock.now()
    assert server.delivered == []

    del server.replies[stage]
    _clock(ctx).advance(hours=2)
    await _run(ctx)
    assert message(ctx, queued.id).status == "sent"
    assert len(server.delivered) == 1


async def test_4xx_attempts_are_bounded(ctx: AppContext, server: RawServer) -> None:
    account_id = _account(ctx, server)
    queued = enqueue(ctx, account_id, "bob@example.org")
    server.replies["mail"] = "451 4.3.0 Temporary local problem"
    for _ in range(8):
        await _run(ctx)
        _clock(ctx).advance(hours=2)
    row = message(ctx, queued.id)
    assert (row.status, row.reason, row.attempts) == ("failed", "temporary_failure", 8)
    assert row.detail and "451" in row.detail


@pytest.mark.parametrize(
    ("stage", "reply", "reason"),
    [
        (
            "rcpt",
            "550 5.1.1 <bob@example.org>: Recipient address rejected: User unknown",
            "recipient_rejected",
        ),
        ("dot", "552 5.3.4 Message size exceeds fixed limit", "message_too_large"),
        ("dot", "554 5.7.1 Message rejected as spam", "message_rejected"),
    ],
)
async def test_5xx_fails_the_message(
    ctx: AppContext, server: RawServer, stage: str, reply: str, reason: str
) -> None:
    account_id = _account(ctx, server)
    queued = enqueue(ctx, account_id, "bob@example.org")
    second = enqueue(ctx, account_id, "carol@example.org")
    server.replies["rcpt:bob@example.org" if stage == "rcpt" else stage] = reply
    if stage == "dot":
        del server.replies["dot"]
        server.replies["dot"] = reply
    await _run(ctx)
    row = message(ctx, queued.id)
    assert (row.status, row.reason) == ("failed", reason)
    assert row.reply_code == int(reply[:3])
    assert _account_row(ctx, account_id).status == "active"
    if stage == "rcpt":  # the next message still goes: a recipient problem is not the account's
        assert message(ctx, second.id).status == "sent"


async def test_recipient_rejection_fails_only_that_recipient(
    ctx: AppContext, server: RawServer
) -> None:
    account_id = _account(ctx, server)
    server.replies["rcpt:gone@example.org"] = "550 5.1.1 User unknown"
    queued = enqueue(ctx, account_id, "bob@example.org", cc=["gone@example.org"])
    await _run(ctx)
    row = message(ctx, queued.id)
    assert (row.status, row.reason) == ("sent", "partially_sent")
    with ctx.sessions() as session:
        got = {
            r.email: (r.status, r.reason)
            for r in session.scalars(
                select(OutboxRecipient).where(OutboxRecipient.outbox_id == row.id)
            )
        }
    assert got == {
        "bob@example.org": ("sent", None),
        "gone@example.org": ("failed", "recipient_rejected"),
    }
    assert len(server.delivered) == 1


async def test_421_backs_off_the_account(ctx: AppContext, server: RawServer) -> None:
    account_id = _account(ctx, server)
    queued = enqueue(ctx, account_id, "bob@example.org")
    server.replies["mail"] = "421 4.3.2 Service shutting down, closing transmission channel"
    await _run(ctx)
    row = message(ctx, queued.id)
    assert (row.status, row.attempts, row.locked_by) == ("queued", 0, None)
    assert json.loads(_account_row(ctx, account_id).last_error or "{}")["reply_code"] == 421
    del server.replies["mail"]
    await _run(ctx)  # still backing off: nothing is tried
    assert message(ctx, queued.id).status == "queued"
    _clock(ctx).advance(hours=1)
    await _run(ctx)
    assert message(ctx, queued.id).status == "sent"
    assert len(server.delivered) == 1


async def test_454_at_auth_backs_off(ctx: AppContext, server: RawServer) -> None:
    account_id = _account(ctx, server)
    queued = enqueue(ctx, account_id, "bob@example.org")
    server.replies["auth"] = "454 4.7.0 Temporary authentication failure"
    await _run(ctx)
    assert message(ctx, queued.id).status == "queued"
    assert _account_row(ctx, account_id).status == "active"
    del server.replies["auth"]
    _clock(ctx).advance(hours=1)
    await _run(ctx)
    assert message(ctx, queued.id).status == "sent"


async def test_535_pauses_until_credentials_change(ctx: AppContext, server: RawServer) -> None:
    account_id = _account(ctx, server)
    first = enqueue(ctx, account_id, "bob@example.org")
    second = enqueue(ctx, account_id, "carol@example.org")
    server.replies["auth"] = "535 5.7.8 Error: authentication failed"
    await _run(ctx)
    account = _account_row(ctx, account_id)
    assert (account.status, account.status_reason, account.paused_until) == (
        "paused",
        "auth_failed",
        None,
    )
    assert {message(ctx, i).status for i in (first.id, second.id)} == {"queued"}
    assert _events(ctx, "account_paused")[-1]["reason"] == "auth_failed"

    del server.replies["auth"]
    _clock(ctx).advance(days=3)
    await _run(ctx)  # time alone does not lift an auth pause
    assert _account_row(ctx, account_id).status == "paused"

    _clock(ctx).advance(seconds=1)
    with transaction(ctx.sessions) as session:
        row = session.get(Account, account_id)
        assert row is not None
        row.credentials_changed_at = ctx.clock.now()
    _clock(ctx).advance(seconds=1)
    await _run(ctx)
    assert _account_row(ctx, account_id).status == "active"
    assert _events(ctx, "account_resumed")[-1]["by"] == "credentials_changed"
    assert {message(ctx, i).status for i in (first.id, second.id)} == {"sent"}
    assert len(server.delivered) == 2


async def test_sending_limit_pauses_and_resumes_by_itself(
    ctx: AppContext, server: RawServer
) -> None:
    account_id = _account(ctx, server)
    ids = [enqueue(ctx, account_id, f"r{i}@example.org").id for i in range(3)]
    server.replies["mail"] = (
        "450 4.7.1 Error: too much mail from 127.0.0.1, try again in 10 minutes"
    )
    await _run(ctx)
    account = _account_row(ctx, account_id)
    assert (account.status, account.status_reason) == ("paused", "sending_limit")
    until = aware(account.paused_until)
    assert until is not None and until - ctx.clock.now() == timedelta(minutes=10)
    assert {message(ctx, i).status for i in ids} == {"queued"}
    assert {message(ctx, i).attempts for i in ids} == {0}

    del server.replies["mail"]
    _clock(ctx).advance(minutes=11)
    await _run(ctx)
    assert _account_row(ctx, account_id).status == "active"
    assert _events(ctx, "account_resumed")[-1]["by"] == "auto"
    assert {message(ctx, i).status for i in ids} == {"sent"}
    assert len(server.delivered) == 3


async def test_drop_during_data_retries_without_duplicate(
    ctx: AppContext, server: RawServer
) -> None:
    account_id = _account(ctx, server)
    queued = enqueue(ctx, account_id, "bob@example.org", text="line\n" * 50)
    server.replies["dot"] = "drop"
    await _run(ctx)
    row = message(ctx, queued.id)
    assert (row.status, row.reason) == ("deferred", "connection_lost")
    assert server.delivered == []
    del server.replies["dot"]
    _clock(ctx).advance(hours=1)
    await _run(ctx)
    assert message(ctx, queued.id).status == "sent"
    assert len(server.delivered) == 1


@pytest.mark.timeout(30)
async def test_stall_times_out_and_backs_off(ctx: AppContext, server: RawServer) -> None:
    account_id = _account(ctx, server)
    queued = enqueue(ctx, account_id, "bob@example.org")
    server.replies["mail"] = "stall"
    await _run(ctx)  # smtp_timeout is 1 s
    assert message(ctx, queued.id).status == "queued"
    assert json.loads(_account_row(ctx, account_id).last_error or "{}")["code"] == "timeout"
    del server.replies["mail"]
    _clock(ctx).advance(hours=1)
    await _run(ctx)
    assert message(ctx, queued.id).status == "sent"
    assert len(server.delivered) == 1
