"""Delivering events to webhooks: signed POSTs, retries with backoff, a delivery log.

Each POST carries the event as JSON and three headers::

    X-FluenzR-Event: reply
    X-FluenzR-Timestamp: 1767000000            (Unix seconds, when this attempt was signed)
    X-FluenzR-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>

A receiver recomputes the HMAC over the timestamp, a dot and the exact body bytes with the
secret shown at ``fluenzr webhooks add``, compares in constant time, and rejects timestamps
older than a few minutes (replay). Any 2xx is success; anything else (or no answer within the
timeout) is retried with exponential backoff until ``webhook_max_attempts``.

Every connection goes through the egress policy (``fluenzr.mail.egress_http``): link-local and
cloud-metadata addresses are never reached; under ``multi_tenant`` only public https targets are.
Each POST has one overall deadline and reads at most ``webhook_body_limit`` bytes of the answer;
redirects are not followed.

The dispatcher keeps a cursor per webhook (``last_event_id``): new events become delivery rows
in the same transaction that advances it, so an event is queued once per webhook even with
several workers; a delivery is claimed by pushing its ``next_attempt_at`` forward first.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import httpx
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from fluenzr.core.egress import EgressPolicy
from fluenzr.core.secret import Secret
from fluenzr.detection.config import DetectionConfig, from_settings
from fluenzr.errors import VaultError
from fluenzr.mail.egress import EgressRefused
from fluenzr.mail.egress_http import egress_client
from fluenzr.storage.engine import transaction
from fluenzr.storage.events import to_view
from fluenzr.storage.models import Event
from fluenzr.storage.models.detection import Webhook, WebhookDelivery
from fluenzr.storage.runtime import Runtime
from fluenzr.vault import Vault

log = logging.getLogger(__name__)
PENDING = "pending"
DELIVERED = "delivered"
FAILED = "failed"
USER_AGENT = "FluenzR-Webhooks/1"
BODY_LIMIT = 64 * 1024  # bytes of a receiver's answer read at most (we only need the status)


def webhook_client(policy: EgressPolicy, *, timeout: httpx.Timeout) -> httpx.AsyncClient:
    """Connections only where the egress policy allows a webhook (never link-local/metadata)."""
    return egress_client(policy=policy, purpose="webhook", timeout=timeout)


class WebhookRuntime(Runtime, Protocol):
    """Delivery also opens each webhook's sealed signing secret."""

    vault: Vault


def secret_context(webhook_id: int) -> str:
    return f"webhook:{webhook_id}:secret"


def sign(secret: Secret, *, timestamp: int, body: bytes) -> str:
    digest = hmac.new(
        secret.reveal().encode(), f"{timestamp}.".encode() + body, hashlib.sha256
    ).hexdigest()
    return f"sha256={digest}"


def verify(secret: str, *, timestamp: str, body: bytes, signature: str) -> bool:
    """What a receiver does (used by our tests; documented for users)."""
    expected = sign(Secret(secret), timestamp=int(timestamp), body=body)
    return hmac.compare_digest(expected, signature)


def payload(event: Event) -> bytes:
    view = to_view(event)
    document: dict[str, Any] = {
        "id": view.id,
        "type": view.type,
        "created_at": view.created_at.isoformat(),
        "account_id": view.account_id,
        "message_id": view.message_id,
        "recipient": view.recipient,
        "data": view.data,
    }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min … capped at 1 h."""
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 3600))


def queue_new_events(session: Session) -> int:
    """Turn events past each active webhook's cursor into pending deliveries."""
    queued = 0
    hooks = session.scalars(
        select(Webhook).where(Webhook.active.is_(True)).with_for_update(skip_locked=True)
    ).all()
    for hook in hooks:
        query = (
            select(Event.id, Event.type)
            .where(Event.workspace_id == hook.workspace_id, Event.id > hook.last_event_id)
            .order_by(Event.id)
            .limit(1000)
        )
        wanted = None if hook.events in ("", "*") else set(hook.events.split(","))
        last = hook.last_event_id
        for event_id, event_type in session.execute(query):
            last = event_id
            if wanted is None or event_type in wanted:
                session.add(
                    WebhookDelivery(
                        webhook_id=hook.id, event_id=event_id, status=PENDING, attempts=0
                    )
                )
                queued += 1
        hook.last_event_id = last
    return queued


@dataclass(frozen=True)
class DeliveryJob:
    delivery_id: int
    webhook_id: int
    url: str
    sealed: bytes | None
    event_type: str
    body: bytes
    attempts: int


def claim_due(
    session: Session, *, now: datetime, limit: int, lease: timedelta
) -> list[DeliveryJob]:
    rows = session.scalars(
        select(WebhookDelivery)
        .where(
            WebhookDelivery.status == PENDING,
            or_(WebhookDelivery.next_attempt_at.is_(None), WebhookDelivery.next_attempt_at <= now),
        )
        .order_by(WebhookDelivery.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    jobs = []
    for row in rows:
        hook = session.get(Webhook, row.webhook_id)
        event = session.get(Event, row.event_id)
        if hook is None or event is None or not hook.active:
            row.status = FAILED
            row.error = "webhook or event removed"
            continue
        row.attempts += 1
        row.last_attempt_at = now
        row.next_attempt_at = now + lease  # claimed: nobody else picks it meanwhile
        jobs.append(
            DeliveryJob(
                row.id,
                hook.id,
                hook.url,
                hook.secret_sealed,
                event.type,
                payload(event),
                row.attempts,
            )
        )
    return jobs


Result = tuple[int | None, str | None]  # (HTTP status, error) — error None means delivered


async def post(
    client: httpx.AsyncClient,
    job: DeliveryJob,
    secret: Secret,
    *,
    deadline: float,
    body_limit: int = BODY_LIMIT,
    policy: EgressPolicy = EgressPolicy.SINGLE_USER,
) -> Result:
    """One signed POST, bounded: ``deadline`` seconds for the whole exchange (a server that
    trickles an endless body cannot hold it), at most ``body_limit`` bytes of the answer read,
    redirects never followed (a 30x is a failure), https required under multi-tenant."""
    if policy is EgressPolicy.MULTI_TENANT and not job.url.lower().startswith("https://"):
        return None, "egress_refused: https required"
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-FluenzR-Event": job.event_type,
        "X-FluenzR-Delivery": str(job.delivery_id),
        "X-FluenzR-Timestamp": str(timestamp),
        "X-FluenzR-Signature": sign(secret, timestamp=timestamp, body=job.body),
    }
    try:
        async with asyncio.timeout(deadline):
            request = client.build_request("POST", job.url, content=job.body, headers=headers)
            response = await client.send(request, stream=True, follow_redirects=False)
            try:
                read = 0
                async for chunk in response.aiter_raw():
                    read += len(chunk)
                    if read >= body_limit:
                        break  # the answer's body means nothing to us; stop reading
            finally:
                await response.aclose()
    except EgressRefused as exc:
        return None, f"egress_refused: {exc.kind}"
    except TimeoutError:
        return None, f"timeout after {deadline:g} s"
    except httpx.HTTPError as exc:
        return None, f"{type(exc).__name__}: {exc}"[:500]
    except OSError as exc:
        return None, f"{type(exc).__name__}: {exc}"[:500]
    if 200 <= response.status_code < 300:
        return response.status_code, None
    return response.status_code, f"HTTP {response.status_code}"


def record_result(
    session: Session,
    job: DeliveryJob,
    *,
    code: int | None,
    error: str | None,
    now: datetime,
    max_attempts: int,
) -> None:
    row = session.get(WebhookDelivery, job.delivery_id)
    if row is None:
        return
    row.response_code = code
    row.error = error
    if error is None:
        row.status = DELIVERED
        row.delivered_at = now
        row.next_attempt_at = None
    elif job.attempts >= max_attempts:
        row.status = FAILED
        row.next_attempt_at = None
    else:
        row.next_attempt_at = now + backoff(job.attempts)


class Dispatcher:
    def __init__(self, ctx: WebhookRuntime, *, config: DetectionConfig) -> None:
        self.ctx = ctx
        self.config = config
        self.policy = EgressPolicy(ctx.settings.egress_policy)
        self._secrets: dict[int, Secret] = {}

    def _secret(self, job: DeliveryJob) -> Secret | None:
        if job.webhook_id not in self._secrets:
            if job.sealed is None:
                return None
            try:
                self._secrets[job.webhook_id] = self.ctx.vault.open(
                    job.sealed, context=secret_context(job.webhook_id)
                )
            except VaultError:
                return None
        return self._secrets[job.webhook_id]

    async def run_once(self, client: httpx.AsyncClient) -> int:
        """Queue new events, then deliver every due one concurrently; each result is recorded
        as soon as its own POST ends, so one slow target never holds back the others'."""
        now = self.ctx.clock.now()
        lease = timedelta(seconds=self.config.webhook_timeout * 3)
        with transaction(self.ctx.sessions) as session:
            queue_new_events(session)
        with transaction(self.ctx.sessions) as session:
            jobs = claim_due(session, now=now, limit=50, lease=lease)
        if not jobs:
            return 0
        outcomes = await asyncio.gather(
            *(self._deliver(client, job) for job in jobs), return_exceptions=True
        )
        for job, outcome in zip(jobs, outcomes, strict=True):
            if isinstance(outcome, BaseException):  # one bad row never stops the others
                log.error("webhook delivery %s failed: %r", job.delivery_id, outcome)
        return len(jobs)

    async def _deliver(self, client: httpx.AsyncClient, job: DeliveryJob) -> None:
        code, error = await self._attempt(client, job)
        with transaction(self.ctx.sessions) as session:
            record_result(
                session,
                job,
                code=code,
                error=error,
                now=self.ctx.clock.now(),
                max_attempts=self.config.webhook_max_attempts,
            )

    async def _attempt(self, client: httpx.AsyncClient, job: DeliveryJob) -> Result:
        secret = self._secret(job)
        if secret is None:
            return None, "cannot open the webhook secret (vault key missing)"
        return await post(
            client,
            job,
            secret,
            deadline=self.config.webhook_timeout,
            body_limit=self.config.webhook_body_limit,
            policy=self.policy,
        )


async def run_webhooks(
    ctx: WebhookRuntime,
    *,
    stop: asyncio.Event | None = None,
    config: DetectionConfig | None = None,
    until_idle: bool = False,
) -> None:
    """The worker's webhook loop: queue new events, deliver due ones, until ``stop`` is set."""
    chosen = config or from_settings(ctx.settings)
    dispatcher = Dispatcher(ctx, config=chosen)
    stop = stop or asyncio.Event()
    timeout = httpx.Timeout(chosen.webhook_timeout)
    client = webhook_client(dispatcher.policy, timeout=timeout)
    async with client:
        while not stop.is_set():
            try:
                done = await dispatcher.run_once(client)
            except Exception:  # a bad row or a database hiccup must not stop the worker
                log.exception("webhook dispatch round failed")
                done = 0
            if until_idle and done == 0:
                return
            if done == 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=chosen.webhook_poll)
