"""Hostile webhook targets: an endless body, a server that never answers, a redirect, and
addresses the egress policy forbids (cloud metadata under every policy; loopback under
multi-tenant). All targets are asyncio servers on 127.0.0.1; ordering is asserted with events
and database state at the moment a connection ends, never with wall-clock races."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from sqlalchemy import select

from fluenzr.detection.config import DetectionConfig
from fluenzr.detection.webhooks import run_webhooks
from fluenzr.errors import ValidationError
from fluenzr.services.context import AppContext, default_workspace_id
from fluenzr.services.webhooks import create_webhook
from fluenzr.storage.engine import transaction
from fluenzr.storage.events import record_event
from fluenzr.storage.models.detection import Webhook, WebhookDelivery

CONFIG = DetectionConfig(webhook_poll=0.05, webhook_timeout=1.0, webhook_max_attempts=3)


Behaviour = Callable[["Target", asyncio.StreamWriter], Awaitable[None]]
Make = Callable[[Behaviour], Awaitable["Target"]]


class Target:
    """An HTTP/1.1 target on 127.0.0.1 whose behaviour is one coroutine."""

    def __init__(self, behaviour: Behaviour) -> None:
        self.behaviour = behaviour
        self.requests = 0
        self.received = asyncio.Event()
        self.closed = asyncio.Event()
        self.written = 0
        self.port = 0
        self.on_close: Callable[[], None] | None = None
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def start(self) -> Target:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(
                int(line.split(b":", 1)[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
            await reader.readexactly(length)
            self.requests += 1
            self.received.set()
            await self.behaviour(self, writer)
            await reader.read()  # until the client hangs up
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            if self.on_close is not None:
                self.on_close()
            self.closed.set()
            writer.close()


async def answer_ok(target: Target, writer: asyncio.StreamWriter) -> None:
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    await writer.drain()


async def never_answer(target: Target, writer: asyncio.StreamWriter) -> None:
    return None


async def endless_body(target: Target, writer: asyncio.StreamWriter) -> None:
    writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
    chunk = b"4000\r\n" + b"x" * 0x4000 + b"\r\n"
    while True:  # until the client stops reading and closes
        writer.write(chunk)
        target.written += len(chunk)
        await writer.drain()


async def trickle_body(target: Target, writer: asyncio.StreamWriter) -> None:
    writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
    while True:  # one byte at a time: every read succeeds, the body never ends
        writer.write(b"1\r\nx\r\n")
        await writer.drain()
        await asyncio.sleep(0.02)


def redirect_to(url: str) -> Behaviour:
    async def redirect(target: Target, writer: asyncio.StreamWriter) -> None:
        head = f"HTTP/1.1 307 Temporary Redirect\r\nLocation: {url}\r\nContent-Length: 0\r\n\r\n"
        writer.write(head.encode())
        await writer.drain()

    return redirect


@pytest.fixture
async def targets() -> AsyncIterator[Make]:
    started: list[Target] = []

    async def make(behaviour: Behaviour) -> Target:
        target = await Target(behaviour).start()
        started.append(target)
        return target

    yield make
    for target in started:
        await target.stop()


def _event(app: AppContext) -> None:
    with transaction(app.sessions) as session:
        record_event(session, workspace_id=default_workspace_id(app.sessions), type="reply")


def _deliveries(app: AppContext, webhook_id: int) -> list[WebhookDelivery]:
    with app.sessions() as session:
        return list(
            session.scalars(select(WebhookDelivery).where(WebhookDelivery.webhook_id == webhook_id))
        )


def _hook(app: AppContext, url: str) -> int:
    return create_webhook(app, workspace_id=default_workspace_id(app.sessions), url=url).webhook.id


def _retarget(app: AppContext, webhook_id: int, url: str) -> None:
    """A row whose URL was stored before the policy changed (or written directly)."""
    with transaction(app.sessions) as session:
        row = session.get(Webhook, webhook_id)
        assert row is not None
        row.url = url


def _multi_tenant(app: AppContext) -> None:
    app.settings = app.settings.model_copy(update={"egress_policy": "multi_tenant"})


async def test_a_silent_target_never_delays_another(app: AppContext, targets: Make) -> None:
    silent = await targets(never_answer)
    fast = await targets(answer_ok)
    silent_id = _hook(app, silent.url)  # lower id: claimed first
    fast_id = _hook(app, fast.url)
    seen_when_silent_ended: list[str] = []
    silent.on_close = lambda: seen_when_silent_ended.extend(
        d.status for d in _deliveries(app, fast_id)
    )
    _event(app)
    await run_webhooks(app, config=CONFIG, until_idle=True)
    # When the silent target's deadline ended its connection, the other target had already
    # been delivered *and recorded*.
    assert seen_when_silent_ended == ["delivered"]
    [silent_row] = _deliveries(app, silent_id)
    assert silent_row.status == "pending" and silent_row.error == "timeout after 1 s"
    assert fast.requests == 1


async def test_an_endless_body_is_capped(app: AppContext, targets: Make) -> None:
    endless = await targets(endless_body)
    hook = _hook(app, endless.url)
    _event(app)
    await run_webhooks(app, config=CONFIG, until_idle=True)
    await endless.closed.wait()  # the client stopped reading and hung up: the body had no end
    [row] = _deliveries(app, hook)
    assert (row.status, row.response_code) == ("delivered", 200)


async def test_a_trickling_body_hits_the_overall_deadline(app: AppContext, targets: Make) -> None:
    trickle = await targets(trickle_body)
    hook = _hook(app, trickle.url)
    _event(app)
    await run_webhooks(app, config=CONFIG, until_idle=True)
    [row] = _deliveries(app, hook)
    assert row.status == "pending" and row.error == "timeout after 1 s"


async def test_redirects_are_not_followed(app: AppContext, targets: Make) -> None:
    final = await targets(answer_ok)
    bouncer = await targets(redirect_to(final.url))
    hook = _hook(app, bouncer.url)
    _event(app)
    await run_webhooks(app, config=CONFIG, until_idle=True)
    [row] = _deliveries(app, hook)
    assert (row.response_code, row.error, row.status) == (307, "HTTP 307", "pending")
    assert final.requests == 0


@pytest.mark.parametrize("policy", ["single_user", "multi_tenant"])
async def test_cloud_metadata_is_refused_under_every_policy(app: AppContext, policy: str) -> None:
    app.settings = app.settings.model_copy(update={"egress_policy": policy})
    workspace = default_workspace_id(app.sessions)
    for url in ("https://169.254.169.254/latest/meta-data/", "https://[fd00:ec2::254]/"):
        with pytest.raises(ValidationError) as caught:
            create_webhook(app, workspace_id=workspace, url=url)
        assert caught.value.code == "webhook_url_refused"
    # A row that points there anyway (written before, or directly): refused at delivery, never
    # connected (the suite's loopback guard would fail this test on any attempt).
    hook = create_webhook(app, workspace_id=workspace, url="https://example.com/").webhook.id
    _retarget(app, hook, "https://169.254.169.254/latest/meta-data/")
    _event(app)
    await run_webhooks(app, config=CONFIG, until_idle=True)
    [row] = _deliveries(app, hook)
    assert row.error == "egress_refused: metadata"


async def test_multi_tenant_refuses_loopback_and_plain_http(app: AppContext, targets: Make) -> None:
    local = await targets(answer_ok)
    hook = _hook(app, local.url)  # allowed while single-user
    _multi_tenant(app)
    workspace = default_workspace_id(app.sessions)
    with pytest.raises(ValidationError) as http_only:
        create_webhook(app, workspace_id=workspace, url="http://hooks.example.com/")
    assert http_only.value.code == "webhook_https_required"
    with pytest.raises(ValidationError) as loopback:
        create_webhook(app, workspace_id=workspace, url=f"https://127.0.0.1:{local.port}/")
    assert loopback.value.code == "webhook_url_refused"
    _event(app)
    await run_webhooks(app, config=CONFIG, until_idle=True)
    assert _deliveries(app, hook)[0].error == "egress_refused: https required"
    _retarget(app, hook, f"https://127.0.0.1:{local.port}/hook")
    with transaction(app.sessions) as session:
        for row in session.scalars(select(WebhookDelivery)):
            row.next_attempt_at = None
    await run_webhooks(app, config=CONFIG, until_idle=True)
    assert _deliveries(app, hook)[0].error == "egress_refused: loopback"
    assert local.requests == 0
