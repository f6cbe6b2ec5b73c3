"""Detected replies across accounts ("Respuestas"), and the user's own marks on them.

A reply is its ``reply`` or ``auto_reply`` event (detection wrote it with the sender, the reply
text without the quoted part, and the outbox message it answers). Read and handled are ours
(table ``reply_marks``): the mailbox's IMAP flags are never read or changed.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Select, and_, func, not_, or_, select
from sqlalchemy.orm import Session

from fluenzr.error_codes import ErrorCode
from fluenzr.errors import NotFoundError, ValidationError
from fluenzr.services.context import AppContext
from fluenzr.services.paging import Page, clamp
from fluenzr.storage.base import aware
from fluenzr.storage.engine import transaction
from fluenzr.storage.models import Account, Event
from fluenzr.storage.models.inbox_marks import ReplyMark
from fluenzr.storage.models.outbox import OutboxMessage

REPLY_TYPES = ("reply", "auto_reply")
CLASSES = ("reply", "auto_reply", "unsubscribe")
STATES = ("unread", "open", "handled")
# Detection writes event data with json.dumps' default separators (storage.events.record_event).
_UNSUBSCRIBE = '%"unsubscribe": true%'
MAX_TEXT = 4000


class ReplyView(BaseModel):
    id: int  # the event's id
    created_at: datetime
    account_id: int | None
    account_email: str | None
    sender: str
    recipient: str | None
    subject: str
    text: str
    reply_class: str  # reply | auto_reply | unsubscribe
    intent: str | None  # when detection knows it
    outbox_id: int | None
    sent_subject: str | None
    read: bool
    handled: bool


def _check_class(value: str | None) -> str | None:
    if not value:
        return None
    if value not in CLASSES:
        raise ValidationError(
            ErrorCode.REPLY_CLASS_INVALID,
            params={"field": "class", "value": value[:40], "allowed": ", ".join(CLASSES)},
        )
    return value


def _intent(event: Event, data: dict[str, Any]) -> str | None:
    """A column when detection stores one, else the event's data, else unknown."""
    value = getattr(event, "intent", None) or data.get("intent")
    return str(value)[:64] if value else None


def _data(event: Event) -> dict[str, Any]:
    try:
        data = json.loads(event.data or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _view(
    event: Event, email: str | None, sent_subject: str | None, mark: ReplyMark | None
) -> ReplyView:
    data = _data(event)
    unsubscribe = event.type == "reply" and data.get("unsubscribe") is True
    return ReplyView(
        id=event.id,
        created_at=aware(event.created_at) or event.created_at,
        account_id=event.account_id,
        account_email=email,
        sender=str(data.get("from") or event.recipient or "")[:320],
        recipient=event.recipient,
        subject=str(data.get("subject") or "")[:998],
        text=str(data.get("text") or "")[:MAX_TEXT],
        reply_class="unsubscribe" if unsubscribe else event.type,
        intent=_intent(event, data),
        outbox_id=event.message_id,
        sent_subject=sent_subject,
        read=mark is not None and mark.read_at is not None,
        handled=mark is not None and mark.handled_at is not None,
    )


def _query(
    *,
    workspace_id: int,
    account_id: int | None,
    reply_class: str | None,
    state: str | None,
    since: datetime | None,
    until: datetime | None,
) -> Select[Event, str, str, ReplyMark]:
    statement = (
        select(Event, Account.email, OutboxMessage.subject, ReplyMark)
        .outerjoin(Account, Account.id == Event.account_id)
        .outerjoin(
            OutboxMessage,
            and_(OutboxMessage.id == Event.message_id, OutboxMessage.workspace_id == workspace_id),
        )
        .outerjoin(ReplyMark, ReplyMark.event_id == Event.id)
        .where(Event.workspace_id == workspace_id, Event.type.in_(REPLY_TYPES))
    )
    if account_id is not None:
        statement = statement.where(Event.account_id == account_id)
    if reply_class == "auto_reply":
        statement = statement.where(Event.type == "auto_reply")
    elif reply_class == "unsubscribe":
        statement = statement.where(Event.type == "reply", Event.data.like(_UNSUBSCRIBE))
    elif reply_class == "reply":
        statement = statement.where(Event.type == "reply", not_(Event.data.like(_UNSUBSCRIBE)))
    if state == "unread":
        statement = statement.where(or_(ReplyMark.event_id.is_(None), ReplyMark.read_at.is_(None)))
    elif state == "open":
        statement = statement.where(
            or_(ReplyMark.event_id.is_(None), ReplyMark.handled_at.is_(None))
        )
    elif state == "handled":
        statement = statement.where(ReplyMark.handled_at.is_not(None))
    if since is not None:
        statement = statement.where(Event.created_at >= since)
    if until is not None:
        statement = statement.where(Event.created_at < until)
    return statement


def list_replies(
    ctx: AppContext,
    *,
    workspace_id: int,
    account_id: int | None = None,
    reply_class: str | None = None,
    state: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    page: int | None = 1,
    per_page: int | None = None,
) -> Page[ReplyView]:
    """Newest first."""
    number, size = clamp(page, per_page)
    statement = _query(
        workspace_id=workspace_id,
        account_id=account_id,
        reply_class=_check_class(reply_class),
        state=state if state in STATES else None,
        since=since,
        until=until,
    )
    with ctx.sessions() as session:
        total = session.scalar(select(func.count()).select_from(statement.subquery())) or 0
        rows = session.execute(
            statement.order_by(Event.id.desc()).offset((number - 1) * size).limit(size)
        ).all()
        items = [_view(e, email, subject, mark) for e, email, subject, mark in rows]
    return Page[ReplyView](items=items, page=number, per_page=size, total=total)


MAX_UNREAD = 99  # the header shows "99+" beyond


def unread_count(ctx: AppContext, *, workspace_id: int) -> int:
    """Unread replies, counted up to ``MAX_UNREAD + 1`` (a bounded query on every page)."""
    statement = _query(
        workspace_id=workspace_id,
        account_id=None,
        reply_class=None,
        state="unread",
        since=None,
        until=None,
    ).limit(MAX_UNREAD + 1)
    with ctx.sessions() as session:
        return session.scalar(select(func.count()).select_from(statement.subquery())) or 0


def _reply_event(session: Session, *, workspace_id: int, reply_id: int) -> Event:
    event = session.get(Event, reply_id)
    if event is None or event.workspace_id != workspace_id or event.type not in REPLY_TYPES:
        raise NotFoundError(ErrorCode.REPLY_NOT_FOUND, params={"id": reply_id})
    return event


def mark(
    ctx: AppContext,
    *,
    workspace_id: int,
    reply_id: int,
    user_id: int | None,
    read: bool | None = None,
    handled: bool | None = None,
) -> ReplyView:
    """Set or clear read / handled (handled implies read)."""
    now = ctx.clock.now()
    with transaction(ctx.sessions) as session:
        event = _reply_event(session, workspace_id=workspace_id, reply_id=reply_id)
        row = session.get(ReplyMark, event.id, with_for_update=True)
        if row is None:
            row = ReplyMark(event_id=event.id, workspace_id=workspace_id)
            session.add(row)
        if handled is not None:
            row.handled_at = now if handled else None
            if handled:
                read = True
        if read is not None:
            row.read_at = (row.read_at or now) if read else None
        row.marked_by = user_id
        row.updated_at = now
        session.flush()
        found = session.execute(
            _query(
                workspace_id=workspace_id,
                account_id=None,
                reply_class=None,
                state=None,
                since=None,
                until=None,
            ).where(Event.id == event.id)
        ).one()
        event, email, subject, marked = found
        return _view(event, email, subject, marked)


__all__ = ["CLASSES", "STATES", "ReplyView", "list_replies", "mark", "unread_count"]
