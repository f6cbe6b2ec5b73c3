"""Reading events back: `fluenzr events`, the API and the web UI list them through here."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from fluenzr.error_codes import ErrorCode
from fluenzr.errors import ValidationError
from fluenzr.services.context import AppContext
from fluenzr.services.paging import Page, clamp
from fluenzr.storage.events import EVENT_TYPES, EventView, to_view
from fluenzr.storage.models import Account, Event
from fluenzr.storage.models.detection import IncomingMessage

MAX_LIMIT = 1000


def parse_since(value: str | None) -> datetime | None:
    """ISO 8601 date or date-time; naive values are UTC."""
    if value is None or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValidationError(
            ErrorCode.SINCE_INVALID, params={"field": "since", "value": value}
        ) from exc
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
    intent: str | None = None,
) -> list[EventView]:
    """Newest first (or, with ``after_id``, the events after that id, oldest first).

    ``intent`` keeps the reply events whose reply has that intent (detection.intents)."""
    chosen = check_types(types)
    query = select(Event).where(Event.workspace_id == workspace_id)
    if intent:
        query = query.join(IncomingMessage, IncomingMessage.event_id == Event.id).where(
            IncomingMessage.intent == intent
        )
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


class EventRow(EventView):
    """An event as the events page shows it: with the account's address, not its id."""

    account_email: str | None


def page_events(
    ctx: AppContext,
    *,
    workspace_id: int,
    types: list[str] | None = None,
    account_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    page: int | None = 1,
    per_page: int | None = None,
) -> Page[EventRow]:
    """Newest first, one page, with the total; filters by type, account and dates."""
    number, size = clamp(page, per_page)
    chosen = check_types(types)
    statement = (
        select(Event, Account.email)
        .outerjoin(Account, Account.id == Event.account_id)
        .where(Event.workspace_id == workspace_id)
    )
    if chosen:
        statement = statement.where(Event.type.in_(chosen))
    if account_id is not None:
        statement = statement.where(Event.account_id == account_id)
    if since is not None:
        statement = statement.where(Event.created_at >= since)
    if until is not None:
        statement = statement.where(Event.created_at < until)
    with ctx.sessions() as session:
        total = session.scalar(select(func.count()).select_from(statement.subquery())) or 0
        rows = session.execute(
            statement.order_by(Event.id.desc()).offset((number - 1) * size).limit(size)
        ).all()
        items = [
            EventRow(**to_view(event).model_dump(), account_email=email) for event, email in rows
        ]
    return Page[EventRow](items=items, page=number, per_page=size, total=total)


__all__ = [
    "EventRow",
    "EventView",
    "check_types",
    "list_events",
    "page_events",
    "parse_since",
    "to_view",
]
