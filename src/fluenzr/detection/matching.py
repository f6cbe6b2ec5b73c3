"""Link an incoming message to a message we sent, and say which rule linked them.

Rules, strongest first:

``in_reply_to`` / ``references``
    one of our Message-IDs in the incoming In-Reply-To / References (workspace-wide: a reply may
    land in another of the workspace's mailboxes through Reply-To);
``bounce_original``
    the Message-ID of the original embedded in a bounce (message/rfc822, text/rfc822-headers or
    quoted inline);
``bounce_recipient``
    a bounce without the original: the latest message this account sent to a failed recipient
    within the window;
``subject_sender``
    a message this account sent to the sender, within the window, whose normalised subject
    ("Re:", "AW:", "Réf." … stripped) equals the incoming one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fluenzr.detection.classify import Classification
from fluenzr.detection.subjects import normalise_subject
from fluenzr.storage.models.outbox import SENT, OutboxMessage, OutboxRecipient

DEFAULT_WINDOW = timedelta(days=30)


@dataclass(frozen=True)
class Match:
    outbox_id: int
    account_id: int
    rule: str
    recipient: str | None  # the recipient of ours the incoming message is about
    stop_on_reply: bool


def match(
    session: Session,
    classification: Classification,
    *,
    workspace_id: int,
    account_id: int,
    now: datetime,
    window: timedelta = DEFAULT_WINDOW,
) -> Match | None:
    """The sent message ``classification`` answers or bounces, or None."""
    by_id = _by_ids(session, workspace_id=workspace_id, ids=classification.in_reply_to)
    if by_id is not None:
        return _result(session, by_id, "in_reply_to", classification)
    by_id = _by_ids(session, workspace_id=workspace_id, ids=classification.references)
    if by_id is not None:
        return _result(session, by_id, "references", classification)
    since = now - window
    if classification.kind == "bounce":
        if classification.original_message_id:
            ids = (classification.original_message_id,)
            by_id = _by_ids(session, workspace_id=workspace_id, ids=ids)
            if by_id is not None:
                return _result(session, by_id, "bounce_original", classification)
        for failed in classification.failed_recipients:
            row = _latest_to(session, account_id=account_id, email=failed, since=since)
            if row is not None:
                return _result(session, row, "bounce_recipient", classification)
        return None
    if not classification.from_address:
        return None
    wanted = normalise_subject(classification.subject)
    candidates = _sent_to(
        session, account_id=account_id, email=classification.from_address, since=since
    )
    for row in candidates:
        if wanted and normalise_subject(row.subject) == wanted:
            return _result(session, row, "subject_sender", classification)
    return None


def _by_ids(session: Session, *, workspace_id: int, ids: Sequence[str]) -> OutboxMessage | None:
    if not ids:
        return None
    rows = session.scalars(
        select(OutboxMessage).where(
            OutboxMessage.workspace_id == workspace_id, OutboxMessage.message_id.in_(list(ids))
        )
    ).all()
    by_msgid = {row.message_id: row for row in rows}
    for wanted in ids:  # In-Reply-To / newest reference first
        if wanted in by_msgid:
            return by_msgid[wanted]
    return None


def _sent_to(
    session: Session, *, account_id: int, email: str, since: datetime
) -> Sequence[OutboxMessage]:
    return session.scalars(
        select(OutboxMessage)
        .join(OutboxRecipient, OutboxRecipient.outbox_id == OutboxMessage.id)
        .where(
            OutboxMessage.account_id == account_id,
            OutboxMessage.status == SENT,
            OutboxMessage.sent_at >= since,
            func.lower(OutboxRecipient.email) == email.lower(),
        )
        .order_by(OutboxMessage.sent_at.desc())
        .limit(50)
    ).all()


def _latest_to(
    session: Session, *, account_id: int, email: str, since: datetime
) -> OutboxMessage | None:
    rows = _sent_to(session, account_id=account_id, email=email, since=since)
    return rows[0] if rows else None


def _result(
    session: Session, row: OutboxMessage, rule: str, classification: Classification
) -> Match:
    recipients = [
        r.lower()
        for r in session.scalars(
            select(OutboxRecipient.email).where(OutboxRecipient.outbox_id == row.id)
        )
    ]
    return Match(
        outbox_id=row.id,
        account_id=row.account_id,
        rule=rule,
        recipient=_recipient(recipients, classification),
        stop_on_reply=row.stop_on_reply,
    )


def _recipient(recipients: list[str], classification: Classification) -> str | None:
    if classification.kind == "bounce":
        for failed in classification.failed_recipients:
            if failed in recipients:
                return failed
        return recipients[0] if len(recipients) == 1 else None
    if classification.from_address in recipients:
        return classification.from_address
    # A colleague answered for the person we wrote to: the thread is still answered.
    return recipients[0] if recipients else None
