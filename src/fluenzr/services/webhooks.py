"""Webhooks: where events are POSTed, signed with a per-webhook secret (see docs/detection.md).

The signing secret is generated here, shown once to the person who creates the webhook, and
stored sealed by the vault (context ``webhook:<id>:secret``): the web role can create webhooks
with the public key only; only the worker, which holds the private key, opens it to sign.
"""

from __future__ import annotations

import ipaddress
import secrets
from datetime import datetime
from urllib.parse import urlsplit

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fluenzr.core.egress import EgressPolicy, refusal
from fluenzr.core.secret import Secret
from fluenzr.detection.webhooks import secret_context
from fluenzr.error_codes import ErrorCode
from fluenzr.errors import NotFoundError, ValidationError
from fluenzr.services.context import AppContext
from fluenzr.services.seal_keys import ensure_sealing_key_current
from fluenzr.storage.base import aware
from fluenzr.storage.engine import transaction
from fluenzr.storage.events import EVENT_TYPES
from fluenzr.storage.models import Event
from fluenzr.storage.models.detection import Webhook, WebhookDelivery

MAX_URL = 2048
MAX_WEBHOOKS = 50


class WebhookView(BaseModel):
    id: int
    url: str
    events: list[str]  # empty = every event type
    active: bool
    created_at: datetime


class CreatedWebhook(BaseModel):
    webhook: WebhookView
    secret: str  # shown once, never stored in clear


class DeliveryView(BaseModel):
    id: int
    event_id: int
    status: str
    attempts: int
    response_code: int | None
    error: str | None
    next_attempt_at: datetime | None
    delivered_at: datetime | None


def _view(row: Webhook) -> WebhookView:
    events = [] if row.events in ("", "*") else row.events.split(",")
    return WebhookView(
        id=row.id,
        url=row.url,
        events=events,
        active=row.active,
        created_at=aware(row.created_at) or row.created_at,
    )


def validate_url(value: str, *, policy: EgressPolicy = EgressPolicy.SINGLE_USER) -> str:
    """A webhook URL a worker may POST to. An IP-literal host the egress policy refuses is
    refused here already; a name is checked again on every delivery, after resolution."""
    url = (value or "").strip()

    def bad(problem: str) -> ValidationError:
        return ValidationError(
            ErrorCode.WEBHOOK_URL_INVALID,
            params={"field": "url", "value": url[:200]},
            detail=problem,
        )

    if not url or len(url) > MAX_URL or any(c.isspace() for c in url):
        raise bad("empty, too long or contains spaces")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise bad(str(exc)) from exc
    if parts.scheme not in ("http", "https"):
        raise bad("only http:// and https:// URLs")
    if not parts.hostname:
        raise bad("no host")
    if parts.username or parts.password:
        raise bad("credentials in the URL are not allowed; verify the signature instead")
    if port == 0:
        raise bad("port 0")
    if policy is EgressPolicy.MULTI_TENANT and parts.scheme != "https":
        raise ValidationError(ErrorCode.WEBHOOK_HTTPS_REQUIRED, params={"field": "url"})
    if _is_ip(parts.hostname) and refusal(parts.hostname, policy=policy, purpose="webhook"):
        raise ValidationError(ErrorCode.WEBHOOK_URL_REFUSED, params={"field": "url"})
    return url


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def validate_events(values: list[str] | None) -> list[str]:
    chosen: list[str] = []
    for value in values or []:
        for item in value.split(","):
            name = item.strip()
            if not name or name == "*":
                continue
            if name not in EVENT_TYPES:
                raise ValidationError(
                    ErrorCode.WEBHOOK_EVENTS_INVALID,
                    params={
                        "field": "events",
                        "value": name,
                        "allowed": ", ".join(sorted(EVENT_TYPES)),
                    },
                )
            if name not in chosen:
                chosen.append(name)
    return chosen


def create_webhook(
    ctx: AppContext, *, workspace_id: int, url: str, events: list[str] | None = None
) -> CreatedWebhook:
    clean_url = validate_url(url, policy=EgressPolicy(ctx.settings.egress_policy))
    chosen = validate_events(events)
    secret = "whsec_" + secrets.token_urlsafe(32)
    with transaction(ctx.sessions) as session:
        count = session.scalar(
            select(func.count(Webhook.id)).where(Webhook.workspace_id == workspace_id)
        )
        if (count or 0) >= MAX_WEBHOOKS:
            raise ValidationError(
                ErrorCode.WEBHOOK_LIMIT, params={"field": "url", "limit": MAX_WEBHOOKS}
            )
        # Only events recorded from now on are delivered to a new webhook.
        latest = session.scalar(select(func.max(Event.id))) or 0
        row = Webhook(
            workspace_id=workspace_id,
            url=clean_url,
            events=",".join(chosen) or "*",
            active=True,
            last_event_id=latest,
        )
        session.add(row)
        session.flush()
        row.secret_sealed = ctx.vault.seal(Secret(secret), context=secret_context(row.id))
        ensure_sealing_key_current(session, [row.secret_sealed])
        return CreatedWebhook(webhook=_view(row), secret=secret)


def list_webhooks(ctx: AppContext, *, workspace_id: int) -> list[WebhookView]:
    with ctx.sessions() as session:
        rows = session.scalars(
            select(Webhook).where(Webhook.workspace_id == workspace_id).order_by(Webhook.id)
        )
        return [_view(row) for row in rows]


def _load(session: Session, *, workspace_id: int, webhook_id: int) -> Webhook:
    row = session.get(Webhook, webhook_id)
    if row is None or row.workspace_id != workspace_id:
        raise NotFoundError(ErrorCode.WEBHOOK_NOT_FOUND, params={"id": webhook_id})
    return row


def remove_webhook(ctx: AppContext, *, workspace_id: int, webhook_id: int) -> None:
    with transaction(ctx.sessions) as session:
        session.delete(_load(session, workspace_id=workspace_id, webhook_id=webhook_id))


def list_deliveries(
    ctx: AppContext, *, workspace_id: int, webhook_id: int, limit: int = 50
) -> list[DeliveryView]:
    with ctx.sessions() as session:
        _load(session, workspace_id=workspace_id, webhook_id=webhook_id)
        rows = session.scalars(
            select(WebhookDelivery)
            .where(WebhookDelivery.webhook_id == webhook_id)
            .order_by(WebhookDelivery.id.desc())
            .limit(min(max(limit, 1), 500))
        )
        return [
            DeliveryView(
                id=r.id,
                event_id=r.event_id,
                status=r.status,
                attempts=r.attempts,
                response_code=r.response_code,
                error=r.error,
                next_attempt_at=aware(r.next_attempt_at),
                delivered_at=aware(r.delivered_at),
            )
            for r in rows
        ]


__all__ = [
    "CreatedWebhook",
    "DeliveryView",
    "WebhookView",
    "create_webhook",
    "list_deliveries",
    "list_webhooks",
    "remove_webhook",
    "validate_events",
    "validate_url",
]
