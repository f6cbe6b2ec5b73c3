"""The Workers page and ``GET /api/v1/workers``: alive/stale/stopped, roles, mailboxes owned
(the mailbox addresses of the caller's workspace only), in Spanish first."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest

from fluenzr.detection import ownership
from fluenzr.services.context import AppContext
from fluenzr.storage import heartbeats
from fluenzr.storage.engine import transaction
from tests.e2e.server import csrf_of, serve
from tests.integration.send_support import add_account
from tests.integration.test_api_web import _setup


@pytest.fixture
def base_url(app: AppContext) -> Iterator[str]:
    with serve(app, sending=False) as url:
        yield url


def test_workers_page_and_api(base_url: str, app: AppContext) -> None:
    now = app.clock.now()
    account_id = add_account(
        app,
        email="watched@example.com",
        password="pw",
        port=587,
        security="starttls",
        imap_port=993,
    )
    with transaction(app.sessions) as session:
        heartbeats.beat(session, worker_id="node-a:101:aa", roles=["detect", "send"], now=now)
        heartbeats.beat(
            session, worker_id="node-b:202:bb", roles=["detect"], now=now - timedelta(hours=1)
        )
        heartbeats.beat(session, worker_id="node-c:303:cc", roles=["send"], now=now)
        heartbeats.stopped(session, worker_id="node-c:303:cc", now=now)
        ownership.acquire(
            session, account_id=account_id, owner="node-a:101:aa", now=now, ttl=timedelta(minutes=1)
        )
    with httpx.Client(base_url=base_url) as http:
        _setup(http)
        page = http.get("/settings/workers")
        assert page.status_code == 200
        assert "Último latido" in page.text and "node-a" in page.text and "101" in page.text
        assert "activo" in page.text and "sin latido" in page.text and "detenido" in page.text
        assert "watched@example.com" in page.text
        token = http.post("/settings/tokens", data={"csrf": csrf_of(page.text), "name": "ops"})
        value = token.text.split('id="new-token" readonly value="', 1)[1].split('"', 1)[0]
        found = http.get("/api/v1/workers", headers={"Authorization": f"Bearer {value}"})
    assert found.status_code == 200
    rows = {w["id"]: w for w in found.json()}
    assert rows["node-a:101:aa"]["status"] == "alive"
    assert rows["node-a:101:aa"]["roles"] == ["detect", "send"]
    assert rows["node-a:101:aa"]["mailboxes"] == 1
    assert rows["node-a:101:aa"]["mailbox_emails"] == ["watched@example.com"]
    assert rows["node-b:202:bb"]["status"] == "stale" and rows["node-b:202:bb"]["mailboxes"] == 0
    assert rows["node-c:303:cc"]["status"] == "stopped" and rows["node-c:303:cc"]["pid"] == 303
    with httpx.Client(base_url=base_url) as anonymous:
        assert anonymous.get("/api/v1/workers").status_code == 401
