"""Outbox use cases: enqueue a message, list the outbox, cancel a queued message.

Enqueueing is :mod:`fluenzr.services.outbox_queue` (validate everything, build the exact MIME
bytes once, write the message and its recipients in one transaction: a rejected request writes
nothing), on SQLAlchemy Core; this module turns what it wrote into the views the API, the web
and the workers' tests read, and holds the reads and the cancel (ORM).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from fluenzr.error_codes import ErrorCode
from fluenzr.errors import ConflictError, FluenzrError, NotFoundError, ValidationError
from fluenzr.services import outbox_queue
from fluenzr.services.context import AppContext
from fluenzr.services.outbox_queue import (
    MAX_RECIPIENTS,
    MAX_SUBJECT,
    Queued,
    Replayed,
    SendRequest,
    parse_address,
)
from fluenzr.storage.base import aware
from fluenzr.storage.engine import transaction
from fluenzr.storage.models.outbox import (
    CANCELLED,
    NEEDS_REVIEW,
    PENDING,
    QUEUED,
    STATUSES,
    OutboxMessage,
    OutboxRecipient,
)


class RecipientView(BaseModel):
    email: str
    kind: str
    status: str
    reason: str | None


class OutboxView(BaseModel):
    id: int
    account_id: int
    message_id: str
    status: str
    reason: str | None
    detail: str | None
    subject: str
    recipients: list[RecipientView]
    attempts: int
    not_before: datetime | None
    next_attempt_at: datetime | None
    sent_at: datetime | None
    sent_copy: str
    stop_on_reply: bool
    created_at: datetime


def to_view(row: OutboxMessage, recipients: Sequence[OutboxRecipient]) -> OutboxView:
    return OutboxView(
        id=row.id,
        account_id=row.account_id,
        message_id=row.message_id,
        status=row.status,
        reason=row.reason,
        detail=row.detail,
        subject=row.subject,
        recipients=[
            RecipientView(email=r.email, kind=r.kind, status=r.status, reason=r.reason)
            for r in recipients
        ],
        attempts=row.attempts,
        not_before=aware(row.not_before),
        next_attempt_at=aware(row.next_attempt_at),
        sent_at=aware(row.sent_at),
        sent_copy=row.sent_copy,
        stop_on_reply=row.stop_on_reply,
        created_at=aware(row.created_at) or row.created_at,
    )


def _queued_view(queued: Queued) -> OutboxView:
    row, recipients = queued.row, queued.recipients
    return OutboxView(
        id=row["id"],
        account_id=row["account_id"],
        message_id=row["message_id"],
        status=QUEUED,
        reason=None,
        detail=None,
        subject=row["subject"],
        recipients=[RecipientView(reason=None, **r) for r in recipients],
        attempts=0,
        not_before=row["not_before"],
        next_attempt_at=row["next_attempt_at"],
        sent_at=None,
        sent_copy="none",
        stop_on_reply=row["stop_on_reply"],
        created_at=row["created_at"],
    )


def enqueue_many(
    ctx: AppContext, *, workspace_id: int, requests: Sequence[SendRequest]
) -> list[OutboxView]:
    """Enqueue several messages in one transaction: all of them, or none.

    Everything is validated and built before the first write.
    """
    queued = outbox_queue.queue_many(ctx, workspace_id=workspace_id, requests=requests)
    return [_queued_view(message) for message in queued]


def enqueue_in(
    session: Session, *, workspace_id: int, requests: Sequence[SendRequest], now: datetime
) -> list[OutboxView]:
    """:func:`enqueue_many` inside the caller's transaction (its other writes commit with it)."""
    session.flush()  # the caller's pending rows first, as an ORM query would (autoflush)
    connection = session.connection()
    built = outbox_queue.build(connection, workspace_id=workspace_id, requests=requests, now=now)
    return [_queued_view(message) for message in outbox_queue.write(connection, built)]


@dataclass(frozen=True)
class Enqueued:
    view: OutboxView
    replayed: bool  # True: an earlier request with this idempotency key created the message


def enqueue_once(
    ctx: AppContext, *, workspace_id: int, request: SendRequest, idempotency_key: str | None
) -> Enqueued:
    """Enqueue one message; with a key, at most once per (workspace, key) within the retention.

    The same key with the same request returns the message the first request created (its
    current state); with a different request it is refused (422, as the IETF draft says). See
    :func:`fluenzr.services.outbox_queue.queue_once` for the race between identical requests.
    """
    done = outbox_queue.queue_once(
        ctx, workspace_id=workspace_id, request=request, idempotency_key=idempotency_key
    )
    if isinstance(done, Replayed):
        view = get_message(ctx, workspace_id=workspace_id, outbox_id=done.outbox_id)
        return Enqueued(view, replayed=True)
    return Enqueued(_queued_view(done), replayed=False)


def enqueue(
    ctx: AppContext,
    *,
    workspace_id: int,
    request: SendRequest,
    idempotency_key: str | None = None,
) -> OutboxView:
    return enqueue_once(
        ctx, workspace_id=workspace_id, request=request, idempotency_key=idempotency_key
    ).view


def check_many(
    ctx: AppContext, *, workspace_id: int, requests: Sequence[SendRequest]
) -> dict[int, FluenzrError]:
    """Validate each request as :func:`enqueue_many` would, writing nothing: errors by index.

    Lets a bulk caller refuse a whole file before its first write and name every bad item.
    """
    return outbox_queue.check_many(ctx, workspace_id=workspace_id, requests=requests)


def recipients_of(session: Session, ids: Sequence[int]) -> dict[int, list[OutboxRecipient]]:
    grouped: dict[int, list[OutboxRecipient]] = {i: [] for i in ids}
    if ids:
        query = select(OutboxRecipient).where(OutboxRecipient.outbox_id.in_(ids))
        for recipient in session.scalars(query.order_by(OutboxRecipient.id)):
            grouped[recipient.outbox_id].append(recipient)
    return grouped


def list_outbox(
    ctx: AppContext,
    *,
    workspace_id: int,
    account_id: int | None = None,
    status: str | None = None,
    limit: int = 200,
) -> list[OutboxView]:
    if status is not None and status not in STATUSES:
        raise ValidationError(
            ErrorCode.OUTBOX_STATUS_INVALID,
            params={"field": "status", "value": status, "allowed": ", ".join(STATUSES)},
        )
    with ctx.sessions() as session:
        query = select(OutboxMessage).where(OutboxMessage.workspace_id == workspace_id)
        if account_id is not None:
            query = query.where(OutboxMessage.account_id == account_id)
        if status is not None:
            query = query.where(OutboxMessage.status == status)
        rows = list(session.scalars(query.order_by(OutboxMessage.id.desc()).limit(limit)))
        grouped = recipients_of(session, [r.id for r in rows])
        return [to_view(row, grouped[row.id]) for row in rows]


def _load(session: Session, *, workspace_id: int, outbox_id: int) -> OutboxMessage:
    row = session.get(OutboxMessage, outbox_id)
    if row is None or row.workspace_id != workspace_id:
        raise NotFoundError(ErrorCode.OUTBOX_NOT_FOUND, params={"id": outbox_id})
    return row


def get_message(ctx: AppContext, *, workspace_id: int, outbox_id: int) -> OutboxView:
    with ctx.sessions() as session:
        row = _load(session, workspace_id=workspace_id, outbox_id=outbox_id)
        return to_view(row, recipients_of(session, [row.id])[row.id])


def cancel(ctx: AppContext, *, workspace_id: int, outbox_id: int) -> OutboxView:
    """Cancel a message the worker has not started (queued/deferred) or one set aside for review.

    The row lock makes this safe against a worker: a message a worker holds a live lease on is
    being sent right now and cannot be cancelled any more.
    """
    with transaction(ctx.sessions) as session:
        query = select(OutboxMessage).where(OutboxMessage.id == outbox_id).with_for_update()
        row = session.scalar(query)
        if row is None or row.workspace_id != workspace_id:
            raise NotFoundError(ErrorCode.OUTBOX_NOT_FOUND, params={"id": outbox_id})
        now = ctx.clock.now()
        leased = row.locked_until is not None and (aware(row.locked_until) or now) > now
        if row.status not in (*PENDING, NEEDS_REVIEW) or (row.status in PENDING and leased):
            raise ConflictError(
                ErrorCode.OUTBOX_NOT_CANCELLABLE, params={"id": row.id, "status": row.status}
            )
        row.status = CANCELLED
        row.reason = ErrorCode.CANCELLED
        row.next_attempt_at = None
        session.flush()
        return to_view(row, recipients_of(session, [row.id])[row.id])


__all__ = [
    "MAX_RECIPIENTS",
    "MAX_SUBJECT",
    "Enqueued",
    "OutboxView",
    "RecipientView",
    "SendRequest",
    "cancel",
    "enqueue",
    "enqueue_in",
    "enqueue_many",
    "enqueue_once",
    "get_message",
    "list_outbox",
    "parse_address",
    "recipients_of",
]
