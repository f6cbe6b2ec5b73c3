"""/metrics: real sends, deferrals, failures and events on both databases, scraped and parsed
with prometheus_client's own parser; and the door: no token set → 404, wrong token → 401."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr
from sqlalchemy import select

from fluenzr.sending.worker import WorkerOptions
from fluenzr.server import create_app
from fluenzr.services.context import AppContext
from fluenzr.services.runtime import sending_worker
from fluenzr.storage.base import aware
from fluenzr.storage.engine import transaction
from fluenzr.storage.events import record_event
from fluenzr.storage.models import Account
from fluenzr.storage.models.fleet import MailboxLease, WorkerHeartbeat
from fluenzr.storage.models.outbox import OutboxMessage
from tests.integration.send_support import FakeClock, add_account, enqueue
from tests.support.fault_smtp import RawServer

TOKEN = "metrics-token-0123456789abcdef"


@pytest.fixture
async def server() -> AsyncIterator[RawServer]:
    fault = await RawServer().start()
    yield fault
    await fault.stop()


def _with_token(ctx: AppContext, token: str | None = TOKEN) -> httpx.AsyncClient:
    ctx.settings = ctx.settings.model_copy(
        update={"metrics_token": SecretStr(token) if token else None}
    )
    app = create_app(ctx, sending=False)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def _scrape(
    client: httpx.AsyncClient,
) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    async with client:
        response = await client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


async def test_scrapes_cleanly_with_real_sends(app_any_db: AppContext, server: RawServer) -> None:
    ctx = app_any_db
    clock = FakeClock()
    ctx.clock = clock
    server.replies["rcpt:gone@example.org"] = "550 5.1.1 User unknown"
    server.replies["rcpt:later@example.org"] = "451 4.3.0 Local error in processing"
    account_id = add_account(
        ctx, email="ana@example.com", password="pw", port=server.port, security="none"
    )
    sent = enqueue(ctx, account_id, "bob@example.org")
    enqueue(ctx, account_id, "gone@example.org")
    enqueue(ctx, account_id, "later@example.org")
    await sending_worker(ctx, WorkerOptions(poll=0.02)).run(until_idle=True)
    now = clock.now()
    with transaction(ctx.sessions) as session:
        row = session.scalar(select(OutboxMessage).where(OutboxMessage.id == sent.id))
        assert row is not None and row.sent_at is not None
        # Detection's record of a reply two minutes after our delivery (the lag histogram).
        reply = record_event(
            session, workspace_id=row.workspace_id, type="reply", account_id=account_id,
            message_id=row.id, recipient="bob@example.org", data={"from": "bob@example.org"},
        )  # fmt: skip
        reply.created_at = aware(row.sent_at) + timedelta(seconds=120)
        record_event(
            session, workspace_id=row.workspace_id, type="account_tested",
            account_id=account_id, data={"ok": False, "code": "auth_failed", "steps": []},
        )  # fmt: skip
        account = session.get(Account, account_id)
        assert account is not None
        account.last_test_ok = False
        session.add(WorkerHeartbeat(id="w1", hostname="h", pid=1, heartbeat_at=now))
        session.add(
            MailboxLease(
                account_id=account_id, owner="w1", expires_at=now + timedelta(seconds=60),
                takeovers=2,
            )
        )  # fmt: skip

    samples = await _scrape(_with_token(ctx))

    def value(name: str, **labels: str) -> float:
        return samples[(name, tuple(sorted(labels.items())))]

    assert value("fluenzr_outbox_messages", state="sent") == 1
    assert value("fluenzr_outbox_messages", state="failed") == 1
    assert value("fluenzr_outbox_messages", state="deferred") == 1
    assert value("fluenzr_outbox_messages", state="queued") == 0
    assert value("fluenzr_sends_total") == 1
    assert value("fluenzr_deferrals_total", reason="temporary_failure") == 1
    assert value("fluenzr_failures_total", reason="recipient_rejected", level="message") == 1
    assert value("fluenzr_failures_total", reason="recipient_rejected", level="recipient") == 1
    assert value("fluenzr_accounts", status="active") == 1
    assert value("fluenzr_accounts_last_probar", outcome="failed") == 1
    assert value("fluenzr_probar_runs_total", outcome="failed", code="auth_failed") == 1
    assert value("fluenzr_imap_sessions_open") == 1
    assert value("fluenzr_mailbox_lease_takeovers_total") == 2
    assert value("fluenzr_workers_alive") == 1
    assert value("fluenzr_delivery_to_event_seconds_bucket", kind="reply", le="60.0") == 0
    assert value("fluenzr_delivery_to_event_seconds_bucket", kind="reply", le="300.0") == 1
    assert value("fluenzr_delivery_to_event_seconds_count", kind="reply") == 1
    assert value("fluenzr_delivery_to_event_seconds_sum", kind="reply") == pytest.approx(120, 1)
    # Nothing that names a tenant's people: no address, no workspace in any label.
    assert not any("@" in v for _, labels in samples for _, v in labels)


async def test_an_empty_installation_scrapes_cleanly(app: AppContext) -> None:
    samples = await _scrape(_with_token(app))
    assert samples[("fluenzr_sends_total", ())] == 0
    assert samples[("fluenzr_imap_sessions_open", ())] == 0


async def test_labels_stay_bounded_whatever_the_rows_say(app: AppContext) -> None:
    """A hand-edited status or a reason that is no error code reads ``other``: never a label
    value taken from free text (no unbounded series, nothing a tenant typed)."""
    with transaction(app.sessions) as session:
        for n in range(3):
            record_event(
                session, workspace_id=1, type="deferred",
                data={"reason": f"bob{n}@example.org said no"},
            )  # fmt: skip
    samples = await _scrape(_with_token(app))
    assert samples[("fluenzr_deferrals_total", (("reason", "other"),))] == 3
    assert not any("@" in v for _, labels in samples for _, v in labels)


async def test_closed_without_a_token_setting(app: AppContext) -> None:
    async with _with_token(app, None) as client:
        assert (await client.get("/metrics")).status_code == 404
        bearer = {"Authorization": f"Bearer {TOKEN}"}
        assert (await client.get("/metrics", headers=bearer)).status_code == 404


@pytest.mark.parametrize("header", [None, "Bearer wrong-token-0123456789", f"Basic {TOKEN}", TOKEN])
async def test_a_scrape_without_the_token_is_401(app: AppContext, header: str | None) -> None:
    async with _with_token(app) as client:
        headers = {"Authorization": header} if header else {}
        response = await client.get("/metrics", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert "fluenzr_" not in response.text
