"""Outbox use cases: enqueue a message, list the outbox, cancel a queued message.

Enqueue validates everything first (recipients, headers, account, suppression), builds the exact
MIME bytes once, and writes the message and its recipients in one transaction: a rejected
request writes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parseaddr
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from fluenzr.error_codes import ErrorCode
from fluenzr.errors import ConflictError, FluenzrError, NotFoundError, ValidationError
from fluenzr.mail import mime
from fluenzr.mail.mime import Address, Draft
from fluenzr.sending import suppression
from fluenzr.services import account_rules, idempotency
from fluenzr.services.context import AppContext
from fluenzr.storage.base import aware
from fluenzr.storage.engine import transaction
from fluenzr.storage.models import Account
from fluenzr.storage.models.outbox import (
    CANCELLED,
    NEEDS_REVIEW,
    PENDING,
    QUEUED,
    STATUSES,
    OutboxMessage,
    OutboxRecipient,
)

MAX_RECIPIENTS = 50
MAX_SUBJECT = 998


@dataclass(frozen=True)
class SendRequest:
    account_id: int
    to: Sequence[str]
    subject: str
    text: str
    cc: Sequence[str] = ()
    html: str | None = None
    reply_to: str | None = None
    in_reply_to: str | None = None
    references: Sequence[str] = ()
    headers: Sequence[tuple[str, str]] = ()
    not_before: datetime | None = None  # naive = the account's time zone
    stop_on_reply: bool = False
    unsubscribe: Sequence[str] = field(default_factory=tuple)
    one_click: bool = False


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


def parse_address(value: str, *, field_name: str) -> Address:
    """``bob@x.org`` or ``Bob <bob@x.org>``; the address validated and normalised."""
    mime.refuse_line_breaks(field_name, value)
    name, addr = parseaddr(value.strip())
    if not value.strip():
        raise ValidationError(ErrorCode.EMAIL_MISSING, params={"field": field_name})
    addr = addr or value.strip()  # let the validator say what is wrong with it
    return Address(email=account_rules.email(addr, field=field_name), name=name.strip())


def _addresses(values: Sequence[str], *, field_name: str) -> list[Address]:
    out = [parse_address(v, field_name=field_name) for v in values]
    seen: set[str] = set()
    unique = []
    for address in out:
        if address.email.lower() not in seen:
            seen.add(address.email.lower())
            unique.append(address)
    return unique


def _account(session: Session, *, workspace_id: int, account_id: int) -> Account:
    account = session.get(Account, account_id)
    if account is None or account.workspace_id != workspace_id:
        # Bad input to a send (exit 2), not a lookup of the account itself.
        raise ValidationError(
            ErrorCode.ACCOUNT_NOT_FOUND, params={"id": account_id, "field": "account"}
        )
    return account


def _not_before(value: datetime | None, *, tz: str) -> datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=ZoneInfo(tz))


def _draft(account: Account, request: SendRequest) -> tuple[Draft, list[Address], list[Address]]:
    to = _addresses(request.to, field_name="to")
    if not to:
        raise ValidationError(ErrorCode.EMAIL_MISSING, params={"field": "to"})
    cc = [a for a in _addresses(request.cc, field_name="cc") if a not in to]
    if len(to) + len(cc) > MAX_RECIPIENTS:
        raise ValidationError(
            ErrorCode.TOO_MANY_RECIPIENTS, params={"field": "to", "max": MAX_RECIPIENTS}
        )
    subject = request.subject.strip()
    mime.refuse_line_breaks("Subject", subject)
    if len(subject) > MAX_SUBJECT:
        raise ValidationError(
            ErrorCode.SUBJECT_TOO_LONG, params={"field": "subject", "max": MAX_SUBJECT}
        )
    reply_to = parse_address(request.reply_to, field_name="reply_to") if request.reply_to else None
    draft = Draft(
        sender=Address(account.email, account.display_name),
        to=to,
        cc=cc,
        subject=subject,
        text=request.text,
        html=request.html,
        reply_to=reply_to,
        in_reply_to=request.in_reply_to,
        references=request.references,
        headers=request.headers,
        unsubscribe=request.unsubscribe,
        one_click=request.one_click,
    )
    return draft, to, cc


def _row(
    *, workspace_id: int, account: Account, request: SendRequest, now: datetime
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Validate and build one message (no database access): the row and its recipients."""
    draft, to, cc = _draft(account, request)
    built = mime.build(draft)
    not_before = _not_before(request.not_before, tz=account.timezone)
    parent = request.in_reply_to
    row: dict[str, Any] = {
        "workspace_id": workspace_id,
        "account_id": account.id,
        "message_id": built.message_id,
        "envelope_from": account.email,
        "subject": draft.subject,
        "in_reply_to": mime.normalise_msg_id(parent, field_name="in_reply_to") if parent else None,
        "mime": built.mime,
        "status": QUEUED,
        "attempts": 0,
        "not_before": not_before,
        "next_attempt_at": not_before,
        "stop_on_reply": request.stop_on_reply,
        "sent_copy": "none",
        "copy_attempts": 0,
        "created_at": now,
        "updated_at": now,
    }
    recipients = [
        {"email": a.email, "kind": kind, "status": QUEUED}
        for kind, group in (("to", to), ("cc", cc))
        for a in group
    ]
    return row, recipients


def _queued_view(row: dict[str, Any], recipients: list[dict[str, Any]]) -> OutboxView:
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


def _build(
    session: Session, *, workspace_id: int, requests: Sequence[SendRequest], now: datetime
) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """Validate and build every message (reads only): a bad one raises before any write."""
    accounts: dict[int, Account] = {}
    built = []
    for request in requests:
        account = accounts.get(request.account_id)
        if account is None:
            account = _account(session, workspace_id=workspace_id, account_id=request.account_id)
            accounts[request.account_id] = account
        built.append(_row(workspace_id=workspace_id, account=account, request=request, now=now))
    everyone = [r["email"] for _, recipients in built for r in recipients]
    suppression.refuse_suppressed(session, workspace_id=workspace_id, emails=everyone)
    return built


def _write(
    session: Session, built: list[tuple[dict[str, Any], list[dict[str, Any]]]]
) -> list[OutboxView]:
    """The rows go in as two multi-row INSERTs (messages, then their recipients)."""
    statement = insert(OutboxMessage).returning(OutboxMessage.id, sort_by_parameter_order=True)
    ids = session.execute(statement, [row for row, _ in built]).scalars().all()
    for (row, recipients), outbox_id in zip(built, ids, strict=True):
        row["id"] = outbox_id
        for recipient in recipients:
            recipient["outbox_id"] = outbox_id
    session.execute(insert(OutboxRecipient), [r for _, rs in built for r in rs])
    return [_queued_view(row, recipients) for row, recipients in built]


def enqueue_many(
    ctx: AppContext, *, workspace_id: int, requests: Sequence[SendRequest]
) -> list[OutboxView]:
    """Enqueue several messages in one transaction: all of them, or none.

    Everything is validated and built before the first write.
    """
    now = ctx.clock.now()
    with transaction(ctx.sessions) as session:
        return _write(
            session, _build(session, workspace_id=workspace_id, requests=requests, now=now)
        )


@dataclass(frozen=True)
class Enqueued:
    view: OutboxView
    replayed: bool  # True: an earlier request with this idempotency key created the message


def _replay(ctx: AppContext, *, workspace_id: int, key: str, fingerprint: str) -> Enqueued | None:
    with ctx.sessions() as session:
        outbox_id = idempotency.find(
            session, workspace_id=workspace_id, key=key, fingerprint=fingerprint
        )
        if outbox_id is None:
            return None
        row = _load(session, workspace_id=workspace_id, outbox_id=outbox_id)
        return Enqueued(to_view(row, _recipients(session, [row.id])[row.id]), replayed=True)


def enqueue_once(
    ctx: AppContext, *, workspace_id: int, request: SendRequest, idempotency_key: str | None
) -> Enqueued:
    """Enqueue one message; with a key, at most once per (workspace, key) within the retention.

    The same key with the same request returns the message the first request created (its
    current state); with a different request it is refused (422, as the IETF draft says). The
    key row and the message are written in one transaction, so two identical requests racing
    each other create one message: the loser's insert hits the unique key and it reads the
    winner's message instead.
    """
    if idempotency_key is None:
        return Enqueued(enqueue_many(ctx, workspace_id=workspace_id, requests=[request])[0], False)
    key = idempotency.normalise_key(idempotency_key)
    fingerprint = idempotency.fingerprint(request)
    now = ctx.clock.now()
    idempotency.purge_expired(ctx.sessions, now=now)
    found = _replay(ctx, workspace_id=workspace_id, key=key, fingerprint=fingerprint)
    if found is not None:
        return found
    try:
        with transaction(ctx.sessions) as session:
            built = _build(session, workspace_id=workspace_id, requests=[request], now=now)
            view = _write(session, built)[0]
            idempotency.claim(
                session,
                workspace_id=workspace_id,
                key=key,
                fingerprint=fingerprint,
                outbox_id=view.id,
                now=now,
            )
            return Enqueued(view, replayed=False)
    except IntegrityError:
        found = _replay(ctx, workspace_id=workspace_id, key=key, fingerprint=fingerprint)
        if found is None:
            raise
        return found


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
    now = ctx.clock.now()
    errors: dict[int, FluenzrError] = {}
    with ctx.sessions() as session:
        accounts: dict[int, Account] = {}
        for index, request in enumerate(requests):
            try:
                account = accounts.get(request.account_id)
                if account is None:
                    account = _account(
                        session, workspace_id=workspace_id, account_id=request.account_id
                    )
                    accounts[request.account_id] = account
                _, recipients = _row(
                    workspace_id=workspace_id, account=account, request=request, now=now
                )
                emails = [r["email"] for r in recipients]
                suppression.refuse_suppressed(session, workspace_id=workspace_id, emails=emails)
            except FluenzrError as error:
                errors[index] = error
    return errors


def _recipients(session: Session, ids: Sequence[int]) -> dict[int, list[OutboxRecipient]]:
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
        grouped = _recipients(session, [r.id for r in rows])
        return [to_view(row, grouped[row.id]) for row in rows]


def _load(session: Session, *, workspace_id: int, outbox_id: int) -> OutboxMessage:
    row = session.get(OutboxMessage, outbox_id)
    if row is None or row.workspace_id != workspace_id:
        raise NotFoundError(ErrorCode.OUTBOX_NOT_FOUND, params={"id": outbox_id})
    return row


def get_message(ctx: AppContext, *, workspace_id: int, outbox_id: int) -> OutboxView:
    with ctx.sessions() as session:
        row = _load(session, workspace_id=workspace_id, outbox_id=outbox_id)
        return to_view(row, _recipients(session, [row.id])[row.id])


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
        row.reason = "cancelled"
        row.next_attempt_at = None
        session.flush()
        return to_view(row, _recipients(session, [row.id])[row.id])


__all__ = [
    "Enqueued",
    "OutboxView",
    "RecipientView",
    "SendRequest",
    "cancel",
    "enqueue",
    "enqueue_many",
    "enqueue_once",
    "get_message",
    "list_outbox",
    "parse_address",
]
