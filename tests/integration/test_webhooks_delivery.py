"""Webhook deliveries to a real local HTTP server: signature, retries with backoff, the log."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from fluenzr.core.clock import Clock
from fluenzr.detection.config import DetectionConfig
from fluenzr.detection.webhooks import run_webhooks, verify
from fluenzr.services.context import AppContext, default_workspace_id
from fluenzr.services.webhooks import create_webhook, list_deliveries
from fluenzr.storage.engine import transaction
from fluenzr.storage.events import record_event
from fluenzr.storage.models.detection import Webhook

CONFIG = DetectionConfig(webhook_poll=0.05, webhook_timeout=2, webhook_max_attempts=3)


class Receiver(ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.statuses: list[int] = []  # answers to give, in order; then 200

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"


class Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
        status = self.server.statuses.pop(0) if self.server.statuses else 200
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


class ManualClock(Clock):
    def __init__(self) -> None:
        self.at = datetime.now(UTC)

    def now(self) -> datetime:
        return self.at


def _event(ctx: AppContext, type: str, recipient: str) -> None:
    with transaction(ctx.sessions) as session:
        record_event(
            session,
            workspace_id=default_workspace_id(ctx.sessions),
            type=type,
            recipient=recipient,
            message_id=7,
            data={"text": "Sí, hablemos"},
        )


async def test_signed_delivery_with_filter(app_any_db: AppContext, receiver: Receiver) -> None:
    app = app_any_db
    workspace = default_workspace_id(app.sessions)
    _event(app, "reply", "old@example.com")  # before the webhook existed: not sent
    created = create_webhook(app, workspace_id=workspace, url=receiver.url, events=["reply"])
    _event(app, "reply", "bob@example.com")
    _event(app, "bounce", "gone@example.com")  # filtered out
    await run_webhooks(app, config=CONFIG, until_idle=True)
    assert len(receiver.requests) == 1
    headers, body = receiver.requests[0]
    assert headers["x-fluenzr-event"] == "reply"
    assert verify(
        created.secret,
        timestamp=headers["x-fluenzr-timestamp"],
        body=body,
        signature=headers["x-fluenzr-signature"],
    )
    assert not verify(
        "whsec_wrong",
        timestamp=headers["x-fluenzr-timestamp"],
        body=body,
        signature=headers["x-fluenzr-signature"],
    )
    document = json.loads(body)
    assert (document["type"], document["recipient"], document["message_id"]) == (
        "reply",
        "bob@example.com",
        7,
    )
    assert document["data"]["text"] == "Sí, hablemos"
    log = list_deliveries(app, workspace_id=workspace, webhook_id=created.webhook.id)
    assert [(d.status, d.attempts, d.response_code) for d in log] == [("delivered", 1, 200)]
    # The secret is stored sealed, never in clear.
    with app.sessions() as session:
        sealed = session.get(Webhook, created.webhook.id).secret_sealed  # type: ignore[union-attr]
    assert sealed and created.secret.encode() not in sealed


async def test_retries_with_backoff_then_gives_up(app: AppContext, receiver: Receiver) -> None:
    clock = ManualClock()
    app.clock = clock
    workspace = default_workspace_id(app.sessions)
    ok_hook = create_webhook(app, workspace_id=workspace, url=receiver.url)
    receiver.statuses = [500, 503]
    _event(app, "bounce", "gone@example.com")
    await run_webhooks(app, config=CONFIG, until_idle=True)
    log = list_deliveries(app, workspace_id=workspace, webhook_id=ok_hook.webhook.id)
    assert [(d.status, d.attempts, d.response_code) for d in log] == [("pending", 1, 500)]
    await run_webhooks(app, config=CONFIG, until_idle=True)  # not due yet
    assert len(receiver.requests) == 1
    clock.at += timedelta(seconds=31)
    await run_webhooks(app, config=CONFIG, until_idle=True)
    clock.at += timedelta(seconds=61)
    await run_webhooks(app, config=CONFIG, until_idle=True)
    log = list_deliveries(app, workspace_id=workspace, webhook_id=ok_hook.webhook.id)
    assert [(d.status, d.attempts, d.response_code) for d in log] == [("delivered", 3, 200)]
    # A dead endpoint: attempts stop at webhook_max_attempts.
    dead = create_webhook(app, workspace_id=workspace, url="http://127.0.0.1:9/none")
    _event(app, "reply", "x@example.com")
    for _ in range(4):
        await run_webhooks(app, config=CONFIG, until_idle=True)
        clock.at += timedelta(hours=2)
    log = list_deliveries(app, workspace_id=workspace, webhook_id=dead.webhook.id)
    assert [(d.status, d.attempts) for d in log] == [("failed", 3)]
    assert log[0].error
