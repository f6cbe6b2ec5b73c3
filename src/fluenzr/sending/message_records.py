"""Recording what happened to a message: sending, sent, deferred, failed — with events."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, Table, bindparam, insert, or_, select, update
from sqlalchemy.orm import Session

from fluenzr.error_codes import ErrorCode
from fluenzr.sending import pacing
from fluenzr.sending.account_connection import RecipientOutcome
from fluenzr.sending.failure_policy import Decision, Failure
from fluenzr.storage import hard_bounces
from fluenzr.storage.events import record_event
from fluenzr.storage.models import Event
from fluenzr.storage.models.outbox import (
    COPY_NONE,
    COPY_PENDING,
    DEFERRED,
    FAILED,
    QUEUED,
    SENDING,
    SENT,
    OutboxMessage,
    OutboxRecipient,
)

MAX_ATTEMPTS = 8

# Hot-path statements, built once (plain Core: no per-call statement building or ORM sync).
_MSG: Table = OutboxMessage.__table__  # type: ignore[assignment]
_RCPT: Table = OutboxRecipient.__table__  # type: ignore[assignment]
# Fenced: only while this worker still holds the lease and the message is still due. A lease
# that expired during a long batch may have been claimed by another worker, and a message may
# have been cancelled meanwhile; then the row is not taken and DATA never starts.
SENDING_STATEMENT = (
    _MSG.update()
    .where(
        _MSG.c.id == bindparam("oid"),
        _MSG.c.locked_by == bindparam("worker"),
        # or_ of equalities, not in_(): an expanding IN cannot run in executemany().
        or_(_MSG.c.status == QUEUED, _MSG.c.status == DEFERRED),
    )
    .values(
        status=SENDING,
        sending_at=bindparam("now"),
        attempts=_MSG.c.attempts + 1,
        locked_until=bindparam("until"),
        updated_at=bindparam("now"),
    )
)


def taken_for_sending(connection: Connection, *, ids: Sequence[int], worker: str) -> set[int]:
    """Which of ``ids`` the fenced SENDING_STATEMENT really moved to ``sending`` for us."""
    query = select(_MSG.c.id).where(
        _MSG.c.id.in_(ids), _MSG.c.status == SENDING, _MSG.c.locked_by == worker
    )
    return set(connection.execute(query).scalars())


_SENT = (
    _MSG.update()
    .where(_MSG.c.id == bindparam("oid"))
    .values(
        status=SENT,
        sent_at=bindparam("now"),
        locked_by=None,
        locked_until=None,
        reason=bindparam("why"),
        sent_copy=bindparam("copy"),
        updated_at=bindparam("now"),
    )
)
_RECIPIENTS_SENT = (
    _RCPT.update()
    .where(_RCPT.c.outbox_id == bindparam("oid"), _RCPT.c.status == QUEUED)
    .values(status=SENT)
)
_EVENTS = insert(Event)


def _recipient_rows(session: Session, outbox_id: int) -> list[OutboxRecipient]:
    query = select(OutboxRecipient).where(OutboxRecipient.outbox_id == outbox_id)
    return list(session.scalars(query))


def _fail_recipient(
    session: Session,
    row: OutboxMessage,
    recipient: OutboxRecipient,
    *,
    reason: ErrorCode,
    detail: str | None,
) -> None:
    recipient.status, recipient.reason, recipient.detail = FAILED, reason, detail
    record_event(
        session,
        workspace_id=row.workspace_id,
        account_id=row.account_id,
        type="failed",
        message_id=row.id,
        recipient=recipient.email,
        data={"reason": reason, "detail": detail},
    )


def _fail_recipients(
    session: Session,
    row: OutboxMessage,
    results: Sequence[RecipientOutcome],
    *,
    now: datetime | None = None,
) -> bool:
    """Record 5xx RCPT refusals; True when one was a hard bounce (5.1.x, see hard_bounces)."""
    rejected = {r.email: r.failure for r in results if r.failure and (r.failure.code or 0) >= 500}
    if not rejected:
        return False
    hard = False
    for recipient in _recipient_rows(session, row.id):
        failure = rejected.get(recipient.email)
        if failure is None or recipient.status == FAILED:
            continue
        _fail_recipient(
            session, row, recipient, reason=ErrorCode.RECIPIENT_REJECTED, detail=failure.detail
        )
        if hard_bounces.is_hard_rejection(failure.code, failure.enhanced):
            hard = True
            hard_bounces.record_hard_rejection(
                session,
                recipient=recipient,
                workspace_id=row.workspace_id,
                account_id=row.account_id,
                status=failure.enhanced,
                detail=failure.detail,
                now=now or datetime.now(UTC),
            )
    return hard


@dataclass(frozen=True)
class Delivered:
    outbox_id: int
    workspace_id: int
    account_id: int
    message_id: str
    accepted: Sequence[str]
    partial: bool  # some recipients were refused (already recorded, see fail_refused)
    copy: bool  # a copy to Sent is due
    at: datetime


def fail_refused(session: Session, *, outbox_id: int, results: Sequence[RecipientOutcome]) -> bool:
    """Recipients refused at RCPT while the others got the message; True if one hard-bounced."""
    row = session.get(OutboxMessage, outbox_id)
    assert row is not None
    return _fail_recipients(session, row, results)


def mark_sent(connection: Connection, done: Sequence[Delivered]) -> None:
    """Messages the server accepted, written in one go (the hot path: prepared statements)."""
    messages, events = [], []
    for item in done:
        messages.append(
            {
                "oid": item.outbox_id,
                "now": item.at,
                "why": "partially_sent" if item.partial else None,
                "copy": COPY_PENDING if item.copy else COPY_NONE,
            }
        )
        data = {"message_id": item.message_id, "recipients": list(item.accepted)}
        events.append(
            {
                "workspace_id": item.workspace_id,
                "account_id": item.account_id,
                "type": "sent",
                "message_id": item.outbox_id,
                "recipient": None,
                "data": json.dumps(data, ensure_ascii=False),
                "created_at": item.at,
            }
        )
    connection.execute(_RECIPIENTS_SENT, [{"oid": m["oid"]} for m in messages])
    connection.execute(_SENT, messages)
    connection.execute(_EVENTS, events)


def mark_recipients_rejected(
    session: Session, row: OutboxMessage, *, results: Sequence[RecipientOutcome], now: datetime
) -> None:
    """Every recipient refused permanently: the message fails, each recipient with its reply."""
    _fail_recipients(session, row, results, now=now)
    first = next((r.failure for r in results if r.failure), None)
    _finish_failed(session, row, reason=ErrorCode.RECIPIENT_REJECTED, failure=first, now=now)


def _finish_failed(
    session: Session,
    row: OutboxMessage,
    *,
    reason: ErrorCode,
    failure: Failure | None,
    now: datetime,
) -> None:
    row.status, row.reason = FAILED, reason
    row.detail = failure.detail if failure else None
    row.reply_code = failure.code if failure else None
    row.locked_by, row.locked_until, row.next_attempt_at = None, None, None
    row.updated_at = now
    session.execute(
        update(OutboxRecipient)
        .where(OutboxRecipient.outbox_id == row.id, OutboxRecipient.status == QUEUED)
        .values(status=FAILED, reason=reason)
    )
    record_event(
        session,
        workspace_id=row.workspace_id,
        account_id=row.account_id,
        type="failed",
        message_id=row.id,
        data={"reason": reason, "detail": row.detail, "reply_code": row.reply_code},
    )


def mark_failed(
    session: Session, row: OutboxMessage, *, decision: Decision, failure: Failure, now: datetime
) -> None:
    _finish_failed(session, row, reason=decision.reason, failure=failure, now=now)


def mark_deferred(
    session: Session,
    row: OutboxMessage,
    *,
    decision: Decision,
    failure: Failure,
    now: datetime,
    counted: bool,
    results: Sequence[RecipientOutcome] = (),
) -> None:
    """A temporary failure: retry later with backoff and jitter, at most MAX_ATTEMPTS times."""
    _fail_recipients(session, row, results, now=now)
    if not counted:
        row.attempts += 1
    if row.attempts >= MAX_ATTEMPTS:
        _finish_failed(session, row, reason=decision.reason, failure=failure, now=now)
        return
    delay = pacing.backoff(row.attempts)
    if decision.retry_after is not None:
        delay = max(delay, decision.retry_after)
    row.status, row.reason = DEFERRED, decision.reason
    row.detail, row.reply_code = failure.detail, failure.code
    row.next_attempt_at = now + delay
    row.locked_by, row.locked_until = None, None
    row.updated_at = now
    record_event(
        session,
        workspace_id=row.workspace_id,
        account_id=row.account_id,
        type="deferred",
        message_id=row.id,
        data={
            "reason": decision.reason,
            "detail": failure.detail,
            "attempts": row.attempts,
            "retry_at": row.next_attempt_at.isoformat(),
        },
    )


def mark_suppressed(
    session: Session, row: OutboxMessage, *, emails: Sequence[str], now: datetime
) -> bool:
    """Recipients suppressed after enqueue (bounce, unsubscribe) fail; True if none is left."""
    left = 0
    for recipient in _recipient_rows(session, row.id):
        if recipient.status != QUEUED:
            continue
        if recipient.email.lower() not in emails:
            left += 1
            continue
        _fail_recipient(session, row, recipient, reason=ErrorCode.RECIPIENT_SUPPRESSED, detail=None)
    if not left:
        _finish_failed(session, row, reason=ErrorCode.RECIPIENT_SUPPRESSED, failure=None, now=now)
    return not left


def error_dict(decision: Decision, failure: Failure) -> dict[str, object]:
    return {
        "code": decision.reason,
        "detail": failure.detail,
        "reply_code": failure.code,
        "enhanced_code": failure.enhanced,
        "stage": failure.stage.value,
    }


def as_json(value: dict[str, object]) -> str:
    return json.dumps(value, ensure_ascii=False)
