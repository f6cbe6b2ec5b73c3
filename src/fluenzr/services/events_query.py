"""Reading events back: `fluenzr events`, the API and the web UI list them through here."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from fluenzr.error_codes import ErrorCode
from fluenzr.errors import ValidationError
from fluenzr.services.context import AppContext
from fluenzr.storage.events import EVENT_TYPES, EventView, to_view
from fluenzr.storage.models import Event

MAX_LIMIT = 1000


def parse_since(value: str | None) -> datetime | None:
    """ISO 8601 date or date-time; naive values are UTC."""
    if value is None or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError(
            ErrorCode.SINCE_INVALID, params={"field": "since", "value": value}
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def check_types(types: list[str] | None) -> list[str]:
    chosen = [t.strip() for t in types or [] if t.strip()]
    unknown = [t for t in chosen if t not in EVENT_TYPES]
    if unknown:
        raise ValidationError(
            ErrorCode.EVENT_TYPE_INVALID,
            params={
                "field": "type",
                "value": unknown[0],
                "allowed": ", ".join(sorted(EVENT_TYPES)),
            },
        )
    return chosen


def list_events(
    ctx: AppContext,
    *,
    workspace_id: int,
    types: list[str] | None = None,
    since: datetime | None = None,
    account_id: int | None = None,
    after_id: int | None = None,
    limit: int = 100,
) -> list[EventView]:
    """Newest first (or, with ``after_id``, the events after that id, oldest first)."""
    chosen = check_types(types)
    query = select(Event).where(Event.workspace_id == workspace_id)
    if chosen:
        query = query.where(Event.type.in_(chosen))
    if since is not None:
        query = query.where(Event.created_at >= since)
    if account_id is not None:
        query = query.where(Event.account_id == account_id)
    limit = min(max(limit, 1), MAX_LIMIT)
    if after_id is not None:
        query = query.where(Event.id > after_id).order_by(Event.id)
    else:
        query = query.order_by(Event.id.desc())
    with ctx.sessions() as session:
        return [to_view(row) for row in session.scalars(query.limit(limit))]


__all__ = ["EventView", "check_types", "list_events", "parse_since", "to_view"]
