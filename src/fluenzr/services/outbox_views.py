"""The outbox as people look at it ("Envíos"): pages with filters, one message with its headers,
the exact bytes sent and its events; retry; a test message from an account.

Reads go through one query per page (messages joined to their account's address) plus one for
their recipients; filters are columns, never text parsed at read time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.parser import BytesHeaderParser
from email.policy import default as default_policy

from pydantic import BaseModel
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from fluenzr.error_codes import ErrorCode
from fluenzr.errors import ConflictError, NotFoundError, ValidationError
from fluenzr.i18n import translate
from fluenzr.services import outbox
from fluenzr.services.context import AppContext
from fluenzr.services.paging import Page, clamp
from fluenzr.storage.base import aware
from fluenzr.storage.engine import transaction
from fluenzr.storage.events import EventView, to_view
from fluenzr.storage.models import Account, Event
from fluenzr.storage.models.outbox import (
    CANCELLED,
    DEFERRED,
    FAILED,
    NEEDS_REVIEW,
    PENDING,
    QUEUED,
    STATUSES,
    OutboxMessage,
    OutboxRecipient,
)

RETRYABLE = (DEFERRED, FAILED, CANCELLED, NEEDS_REVIEW)
MAX_HEADER_BYTES = 65_536  # headers shown from the stored message (ours, but bounded anyway)
MAX_QUERY = 200


class MessageRow(BaseModel):
    id: int
    account_id: int
    account_email: str
    recipients: list[str]
    subject: str
    status: str
    reason: str | None
    detail: str | None  # the server's reply, verbatim (no secrets)
    reply_code: int | None
    attempts: int
    next_attempt_at: datetime | None
    sent_at: datetime | None
    created_at: datetime


class RecipientDetail(BaseModel):
    email: str
    kind: str
    status: str
    reason: str | None
    detail: str | None


class MessageDetail(MessageRow):
    message_id: str
    envelope_from: str
    size: int
    headers: list[tuple[str, str]]
    recipient_details: list[RecipientDetail]
    events: list[EventView]
    sent_copy: str
    copy_error: str | None


def _status(value: str | None) -> str | None:
    if not value:
        return None
    if value not in STATUSES:
        raise ValidationError(
            ErrorCode.OUTBOX_STATUS_INVALID,
            params={"field": "status", "value": value[:40], "allowed": ", ".join(STATUSES)},
        )
    return value


def _filtered(
    *,
    workspace_id: int,
    account_id: int | None,
    status: str | None,
    query: str | None,
    since: datetime | None,
    until: datetime | None,
) -> Select[OutboxMessage, str]:
    statement = (
        select(OutboxMessage, Account.email)
        .join(Account, Account.id == OutboxMessage.account_id)
        .where(OutboxMessage.workspace_id == workspace_id)
    )
    if account_id is not None:
        statement = statement.where(OutboxMessage.account_id == account_id)
    if status is not None:
        statement = statement.where(OutboxMessage.status == status)
    if since is not None:
        statement = statement.where(OutboxMessage.created_at >= since)
    if until is not None:
        statement = statement.where(OutboxMessage.created_at < until)
    words = (query or "").strip()[:MAX_QUERY]
    if words:
        pattern = "%" + words.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        recipients = select(OutboxRecipient.outbox_id).where(
            OutboxRecipient.email.ilike(pattern, escape="\\")
        )
        statement = statement.where(
            or_(
                OutboxMessage.subject.ilike(pattern, escape="\\"),
                OutboxMessage.id.in_(recipients),
            )
        )
    return statement


def _row(message: OutboxMessage, email: str, recipients: list[OutboxRecipient]) -> MessageRow:
    return MessageRow(
        id=message.id,
        account_id=message.account_id,
        account_email=email,
        recipients=[r.email for r in recipients],
        subject=message.subject,
        status=message.status,
        reason=message.reason,
        detail=message.detail,
        reply_code=message.reply_code,
        attempts=message.attempts,
        next_attempt_at=aware(message.next_attempt_at) if message.status in PENDING else None,
        sent_at=aware(message.sent_at),
        created_at=aware(message.created_at) or message.created_at,
    )


def list_messages(
    ctx: AppContext,
    *,
    workspace_id: int,
    account_id: int | None = None,
    status: str | None = None,
    query: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    page: int | None = 1,
    per_page: int | None = None,
) -> Page[MessageRow]:
    """Newest first, one page of them, with the total that matched."""
    number, size = clamp(page, per_page)
    statement = _filtered(
        workspace_id=workspace_id,
        account_id=account_id,
        status=_status(status),
        query=query,
        since=since,
        until=until,
    )
    with ctx.sessions() as session:
        total = session.scalar(select(func.count()).select_from(statement.subquery())) or 0
        rows = session.execute(
            statement.order_by(OutboxMessage.id.desc()).offset((number - 1) * size).limit(size)
        ).all()
        recipients = outbox.recipients_of(session, [m.id for m, _ in rows])
        items = [_row(m, email, recipients[m.id]) for m, email in rows]
    return Page[MessageRow](items=items, page=number, per_page=size, total=total)


def _load(session: Session, *, workspace_id: int, outbox_id: int) -> tuple[OutboxMessage, str]:
    found = session.execute(
        select(OutboxMessage, Account.email)
        .join(Account, Account.id == OutboxMessage.account_id)
        .where(OutboxMessage.id == outbox_id, OutboxMessage.workspace_id == workspace_id)
    ).first()
    if found is None:
        raise NotFoundError(ErrorCode.OUTBOX_NOT_FOUND, params={"id": outbox_id})
    return found[0], found[1]


def headers_of(mime: bytes) -> list[tuple[str, str]]:
    """The header fields of the stored message, decoded for reading (at most 64 KB read)."""
    head = mime[:MAX_HEADER_BYTES]
    end = head.find(b"\r\n\r\n")
    if end >= 0:
        head = head[: end + 4]
    parsed = BytesHeaderParser(policy=default_policy).parsebytes(head)
    return [(name, str(value)) for name, value in parsed.items()][:200]


def get_message(ctx: AppContext, *, workspace_id: int, outbox_id: int) -> MessageDetail:
    with ctx.sessions() as session:
        message, email = _load(session, workspace_id=workspace_id, outbox_id=outbox_id)
        recipients = outbox.recipients_of(session, [message.id])[message.id]
        events = session.scalars(
            select(Event)
            .where(Event.workspace_id == workspace_id, Event.message_id == message.id)
            .order_by(Event.id.desc())
            .limit(200)
        )
        base = _row(message, email, recipients)
        return MessageDetail(
            **base.model_dump(),
            message_id=message.message_id,
            envelope_from=message.envelope_from,
            size=len(message.mime),
            headers=headers_of(message.mime),
            recipient_details=[
                RecipientDetail(
                    email=r.email, kind=r.kind, status=r.status, reason=r.reason, detail=r.detail
                )
                for r in recipients
            ],
            events=[to_view(e) for e in events],
            sent_copy=message.sent_copy,
            copy_error=message.copy_error,
        )


@dataclass(frozen=True)
class RawMessage:
    outbox_id: int
    message_id: str
    mime: bytes


def raw_message(ctx: AppContext, *, workspace_id: int, outbox_id: int) -> RawMessage:
    """The exact bytes built at enqueue: what was (or will be) sent and copied to Sent."""
    with ctx.sessions() as session:
        message, _email = _load(session, workspace_id=workspace_id, outbox_id=outbox_id)
        return RawMessage(message.id, message.message_id, bytes(message.mime))


def retry(ctx: AppContext, *, workspace_id: int, outbox_id: int) -> outbox.OutboxView:
    """Send again now: a deferred message at once, a failed, cancelled or set-aside one anew.

    The worker sends to the recipients still ``queued``: a failed message's failed recipients
    are queued again (a suppressed address stays skipped by the worker). A message a worker
    holds a live lease on is being sent right now and is left alone (409).
    """
    now = ctx.clock.now()
    with transaction(ctx.sessions) as session:
        query = select(OutboxMessage).where(OutboxMessage.id == outbox_id).with_for_update()
        row = session.scalar(query)
        if row is None or row.workspace_id != workspace_id:
            raise NotFoundError(ErrorCode.OUTBOX_NOT_FOUND, params={"id": outbox_id})
        leased = row.locked_until is not None and (aware(row.locked_until) or now) > now
        if row.status not in RETRYABLE or leased:
            raise ConflictError(
                ErrorCode.OUTBOX_NOT_RETRYABLE, params={"id": row.id, "status": row.status}
            )
        recipients = outbox.recipients_of(session, [row.id])[row.id]
        if row.status != DEFERRED:
            for recipient in recipients:
                if recipient.status in (FAILED, QUEUED) and recipient.reason != (
                    "recipient_suppressed"
                ):
                    recipient.status, recipient.reason, recipient.detail = QUEUED, None, None
            row.attempts = 0
        row.status = QUEUED
        row.reason = None
        row.detail = None
        row.reply_code = None
        row.next_attempt_at = now
        row.not_before = None
        row.locked_by = None
        row.locked_until = None
        session.flush()
        return outbox.to_view(row, recipients)


def send_test(
    ctx: AppContext, *, workspace_id: int, account_id: int, to: str, lang: str
) -> outbox.OutboxView:
    """ "Enviar prueba a…": one short message from the account to an address the user typed."""
    with ctx.sessions() as session:
        account = session.get(Account, account_id)
        if account is None or account.workspace_id != workspace_id:
            raise NotFoundError(ErrorCode.ACCOUNT_NOT_FOUND, params={"id": account_id})
        sender = account.email
    request = outbox.SendRequest(
        account_id=account_id,
        to=[to],
        subject=translate("outbox.test.subject", lang, email=sender),
        text=translate("outbox.test.body", lang, email=sender),
    )
    return outbox.enqueue(ctx, workspace_id=workspace_id, request=request)


__all__ = [
    "MessageDetail",
    "MessageRow",
    "RawMessage",
    "get_message",
    "headers_of",
    "list_messages",
    "raw_message",
    "retry",
    "send_test",
]
