"""Events: recorded through here by every area, in the caller's transaction, and read back as
:class:`EventView` (the API, the web UI and webhook payloads show the same shape)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy.orm import Session

from fluenzr.storage.base import aware
from fluenzr.storage.models import Event

EVENT_TYPES = frozenset(
    {
        "sent",
        "failed",
        "deferred",
        "needs_review",
        "account_paused",
        "account_resumed",
        "account_tested",
        "domain_check_changed",
        "reply",
        "auto_reply",
        "bounce",
        "unsubscribe",
        "bounce_unmatched",
        "complaint",
        "complaint_unmatched",
        "auto_reply_unmatched",
        "unparseable",
        "bulk_job_finished",
    }
)


def record_event(
    session: Session,
    *,
    workspace_id: int,
    type: str,
    account_id: int | None = None,
    message_id: int | None = None,
    recipient: str | None = None,
    data: dict[str, Any] | None = None,
) -> Event:
    if type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {type!r}")
    event = Event(
        workspace_id=workspace_id,
        account_id=account_id,
        type=type,
        message_id=message_id,
        recipient=recipient,
        data=json.dumps(data or {}, ensure_ascii=False, default=str),
    )
    session.add(event)
    return event


class EventView(BaseModel):
    id: int
    type: str
    account_id: int | None
    message_id: int | None
    recipient: str | None
    data: dict[str, Any]
    created_at: datetime


def to_view(row: Event) -> EventView:
    try:
        data = json.loads(row.data or "{}")
    except ValueError:
        data = {}
    return EventView(
        id=row.id,
        type=row.type,
        account_id=row.account_id,
        message_id=row.message_id,
        recipient=row.recipient,
        data=data if isinstance(data, dict) else {"value": data},
        created_at=aware(row.created_at) or row.created_at,
    )
