"""Recording events. Every area writes events through here, in the caller's transaction."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.orm import Session

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
        "reply",
        "auto_reply",
        "bounce",
        "unsubscribe",
        "bounce_unmatched",
        "unparseable",
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
