"""Hard bounces as rows, whichever way they arrive, and the bounce rate that counts them.

A hard bounce arrives as a DSN the detection watcher reads (an ``incoming_messages`` row, kind
``bounce``, permanent) or synchronously: the server refused a recipient at RCPT with a
permanent addressing status — RFC 3463 ``5.1.x`` (5.1.1 no such mailbox, 5.1.2 no such
domain, 5.1.3 bad address syntax, 5.1.6 moved, 5.1.10 null MX per RFC 7505). The second is
recorded here exactly as the first would be: the address suppressed (reason ``bounce``), the
recipient state's ``bounced_at``, a ``bounce`` event (``synchronous: true``), and the outbox
recipient marked ``bounced`` so the account's bounce rate counts it. Sending and detection
both call this module (it sits below both).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select, union
from sqlalchemy.orm import Session

from fluenzr.error_codes import ErrorCode
from fluenzr.storage import recipients
from fluenzr.storage.account_pausing import pause_account
from fluenzr.storage.events import record_event
from fluenzr.storage.models import Account
from fluenzr.storage.models.detection import IncomingMessage
from fluenzr.storage.models.outbox import FAILED, SENT, OutboxMessage, OutboxRecipient

BOUNCE_RATE = ErrorCode.BOUNCE_RATE
SYNC_REASON = "recipient_rejected"  # the reason sending stores on a message refused at RCPT


def is_hard_rejection(code: int | None, enhanced: str | None) -> bool:
    """A permanent addressing failure (5.1.x) — the address itself is bad, not the message."""
    return (code or 0) >= 500 and (enhanced or "").startswith("5.1.")


def record_hard_rejection(
    session: Session,
    *,
    recipient: OutboxRecipient,
    workspace_id: int,
    account_id: int,
    status: str | None,
    detail: str | None,
    now: datetime,
) -> None:
    email = recipient.email.strip().lower()
    recipient.bounced = True
    recipients.suppress(
        session,
        workspace_id=workspace_id,
        email=email,
        reason="bounce",
        detail=(detail or "")[:500] or None,
        account_id=account_id,
    )
    recipients.recipient_state(session, workspace_id=workspace_id, email=email).bounced_at = now
    data: dict[str, Any] = {
        "rule": "smtp_rcpt",
        "synchronous": True,
        "permanent": True,
        "status": status,
        "diagnostic": (detail or "")[:500] or None,
        "failed_recipients": [email],
    }
    record_event(
        session,
        workspace_id=workspace_id,
        type="bounce",
        account_id=account_id,
        message_id=recipient.outbox_id,
        recipient=email,
        data=data,
    )


def bounce_rate(session: Session, *, account_id: int, window: int) -> tuple[int, int]:
    """(hard-bounced, sent) over the account's last ``window`` messages that went out — sent,
    or refused at RCPT (a synchronous bounce is a send that bounced, as a DSN's would be)."""
    attempted = or_(
        OutboxMessage.status == SENT,
        and_(OutboxMessage.status == FAILED, OutboxMessage.reason == SYNC_REASON),
    )
    recent = (
        select(OutboxMessage.id)
        .where(OutboxMessage.account_id == account_id, attempted)
        .order_by(
            func.coalesce(OutboxMessage.sent_at, OutboxMessage.sending_at).desc(),
            OutboxMessage.id.desc(),
        )
        .limit(window)
        .subquery()
    )
    sent = session.scalar(select(func.count()).select_from(recent)) or 0
    bounced_ids = union(
        select(IncomingMessage.outbox_id).where(
            IncomingMessage.kind == "bounce",
            IncomingMessage.permanent.is_(True),
            IncomingMessage.outbox_id.in_(select(recent.c.id)),
        ),
        select(OutboxRecipient.outbox_id).where(
            OutboxRecipient.bounced.is_(True),
            OutboxRecipient.outbox_id.in_(select(recent.c.id)),
        ),
    ).subquery()
    bounced = session.scalar(select(func.count()).select_from(bounced_ids))
    return int(bounced or 0), int(sent)


def check_bounce_rate(
    session: Session,
    *,
    account: Account,
    now: datetime,
    threshold: float,
    window: int,
    min_sends: int,
) -> bool:
    """Pause ``account`` (reason ``bounce_rate``) when its rate is over ``threshold``."""
    if account.status == "paused":
        return False
    bounced, sent = bounce_rate(session, account_id=account.id, window=window)
    if sent < min_sends or bounced / sent <= threshold:
        return False
    pause_account(
        session,
        account,
        reason=BOUNCE_RATE,
        now=now,
        until=None,
        error={"bounced": bounced, "sent": sent, "threshold": threshold},
    )
    return True
