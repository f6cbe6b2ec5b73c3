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
``embedded_original``
    an auto-reply or complaint carrying our original (attached or quoted headers);
``complaint_recipient``
    a complaint without a usable original: the latest message this account sent to the
    complainant within the window;
``incoming_reference``
    In-Reply-To / References name an incoming message we already linked (a prospect answering
    their own earlier reply, a client that kept only the last id of a long References chain);
``thread_index``
    Exchange's ``Thread-Index`` has the conversation root of an incoming message we already
    linked (Outlook keeps it when In-Reply-To and References are gone);
``subject_sender``
    a message this account sent to the sender, within the window, whose normalised subject
    ("Re:", "AW:", "Réf." … stripped) equals the incoming one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fluenzr.detection.message_kinds import Classification
from fluenzr.detection.subjects import normalise_subject
from fluenzr.storage.models.detection import IncomingMessage
from fluenzr.storage.models.outbox import SENT, OutboxMessage, OutboxRecipient

DEFAULT_WINDOW = timedelta(days=30)


@dataclass(frozen=True)
class Match:
    outbox_id: int
    account_id: int
    rule: str
    recipient: str | None  # the recipient of ours the incoming message is about
    stop_on_reply: bool
    recipients: tuple[str, ...] = ()  # every recipient of the matched message (lower-cased)


@dataclass
class Known:
    """Our outbox rows (by Message-ID) and their recipients, looked up once for a whole batch
    of incoming messages instead of once per message."""

    outbox: dict[str, OutboxMessage] = field(default_factory=dict)
    recipients: dict[int, list[str]] = field(default_factory=dict)


def prefetch(
    session: Session, classifications: Sequence[Classification], *, workspace_id: int
) -> Known:
    wanted = sorted(
        {
            ref
            for c in classifications
            for ref in (*c.references, c.original_message_id or "")
            if ref
        }
    )
    known = Known()
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        for row in session.scalars(
            select(OutboxMessage).where(
                OutboxMessage.workspace_id == workspace_id, OutboxMessage.message_id.in_(chunk)
            )
        ):
            known.outbox[row.message_id] = row
    ids = sorted({row.id for row in known.outbox.values()})
    for start in range(0, len(ids), 500):
        query = select(OutboxRecipient.outbox_id, OutboxRecipient.email).where(
            OutboxRecipient.outbox_id.in_(ids[start : start + 500])
        )
        for outbox_id, email in session.execute(query):
            known.recipients.setdefault(outbox_id, []).append(email.lower())
    return known


def match(
    session: Session,
    classification: Classification,
    *,
    workspace_id: int,
    account_id: int,
    now: datetime,
    window: timedelta = DEFAULT_WINDOW,
    known: Known | None = None,
) -> Match | None:
    """The sent message ``classification`` answers or bounces, or None.

    ``known`` (from :func:`prefetch` over the same messages) saves the Message-ID lookups.
    """

    def by_ids(ids: Sequence[str]) -> OutboxMessage | None:
        if known is not None:
            return next((known.outbox[i] for i in ids if i in known.outbox), None)
        return _by_ids(session, workspace_id=workspace_id, ids=ids)

    def result(row: OutboxMessage, rule: str) -> Match:
        return _result(session, row, rule, classification, known=known)

    by_id = by_ids(classification.in_reply_to)
    if by_id is not None:
        return result(by_id, "in_reply_to")
    by_id = by_ids(classification.references)
    if by_id is not None:
        return result(by_id, "references")
    since = now - window
    if classification.original_message_id:
        by_id = by_ids((classification.original_message_id,))
        if by_id is not None:
            rule = "bounce_original" if classification.kind == "bounce" else "embedded_original"
            return result(by_id, rule)
    if classification.kind == "bounce":
        for failed in classification.failed_recipients:
            row = _latest_to(session, account_id=account_id, email=failed, since=since)
            if row is not None:
                return result(row, "bounce_recipient")
        return None
    if classification.kind == "complaint":
        if classification.complainant:
            row = _latest_to(
                session, account_id=account_id, email=classification.complainant, since=since
            )
            if row is not None:
                return result(row, "complaint_recipient")
        return None
    linked = _linked_before(session, classification, workspace_id=workspace_id)
    if linked is not None:
        row, rule = linked
        return result(row, rule)
    if not classification.from_address:
        return None
    wanted = normalise_subject(classification.subject)
    candidates = _sent_to(
        session, account_id=account_id, email=classification.from_address, since=since
    )
    for row in candidates:
        if wanted and normalise_subject(row.subject) == wanted:
            return result(row, "subject_sender")
    return None


def _linked_before(
    session: Session, classification: Classification, *, workspace_id: int
) -> tuple[OutboxMessage, str] | None:
    """Our message an already-linked incoming message of the same thread answered."""
    ids = list(classification.references)[:50]
    if ids:
        outbox_id = session.scalar(
            select(IncomingMessage.outbox_id)
            .where(
                IncomingMessage.workspace_id == workspace_id,
                IncomingMessage.message_id.in_(ids),
                IncomingMessage.outbox_id.is_not(None),
            )
            .limit(1)
        )
        row = session.get(OutboxMessage, outbox_id) if outbox_id else None
        if row is not None:
            return row, "incoming_reference"
    if classification.thread_index:
        outbox_id = session.scalar(
            select(IncomingMessage.outbox_id)
            .where(
                IncomingMessage.workspace_id == workspace_id,
                IncomingMessage.thread_index == classification.thread_index,
                IncomingMessage.outbox_id.is_not(None),
            )
            .order_by(IncomingMessage.id.desc())
            .limit(1)
        )
        row = session.get(OutboxMessage, outbox_id) if outbox_id else None
        if row is not None:
            return row, "thread_index"
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
    session: Session,
    row: OutboxMessage,
    rule: str,
    classification: Classification,
    *,
    known: Known | None = None,
) -> Match:
    if known is not None and row.id in known.recipients:
        recipients = known.recipients[row.id]
    else:
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
        recipients=tuple(recipients),
    )


def _recipient(recipients: list[str], classification: Classification) -> str | None:
    if classification.kind == "complaint":
        wanted = classification.complainant
        if wanted:
            return wanted if wanted in recipients else None
        return recipients[0] if len(recipients) == 1 else None
    if classification.kind == "bounce":
        # Only a recipient we really wrote to: a bounce naming others is not about them.
        for failed in classification.failed_recipients:
            if failed in recipients:
                return failed
        if classification.failed_recipients:
            return None
        return recipients[0] if len(recipients) == 1 else None
    if classification.from_address in recipients:
        return classification.from_address
    # A colleague answered for the person we wrote to: the thread is still answered.
    return recipients[0] if recipients else None
