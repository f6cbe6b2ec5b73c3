"""Crash recovery: resolving messages a dead worker left in ``sending``.

``sending`` is committed just before DATA, so such a message may or may not have been
delivered. It is never re-sent blindly: when the account has IMAP, its Sent folder is searched
for the Message-ID (found → ``sent``); otherwise, or when it is not found there, the message is
set aside as ``needs_review`` for a person to decide. A lease that expired on a message still
``queued``/``deferred`` needs nothing: such a message never reached DATA and is simply claimable
again.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from fluenzr.error_codes import ErrorCode
from fluenzr.storage.engine import transaction
from fluenzr.storage.events import record_event
from fluenzr.storage.models import Account
from fluenzr.storage.models.outbox import (
    COPY_DONE,
    NEEDS_REVIEW,
    SENDING,
    SENT,
    OutboxMessage,
    OutboxRecipient,
)
from fluenzr.storage.runtime import Runtime

log = logging.getLogger(__name__)

# (account_id, message_id) → True found / False not found / None could not look.
SentLookup = Callable[[int, str], Awaitable[bool | None]]


def stale(session: Session, *, now: datetime, limit: int = 200) -> list[tuple[int, int, str, bool]]:
    """(outbox id, account id, Message-ID, account has IMAP) of abandoned ``sending`` rows."""
    query = (
        select(
            OutboxMessage.id, OutboxMessage.account_id, OutboxMessage.message_id, Account.imap_host
        )
        .join(Account, Account.id == OutboxMessage.account_id)
        .where(OutboxMessage.status == SENDING, OutboxMessage.locked_until < now)
        .order_by(OutboxMessage.id)
        .limit(limit)
    )
    return [(i, a, m, bool(h)) for i, a, m, h in session.execute(query)]


def _resolve(session: Session, *, outbox_id: int, found: bool, now: datetime) -> None:
    row = session.get(OutboxMessage, outbox_id, with_for_update=True)
    if row is None or row.status != SENDING:
        return  # resolved meanwhile (another worker)
    row.locked_by, row.locked_until, row.updated_at = None, None, now
    if found:
        row.status, row.sent_at, row.sent_copy = SENT, row.sending_at or now, COPY_DONE
        row.reason = ErrorCode.RECOVERED_FROM_SENT
        for recipient in session.scalars(
            select(OutboxRecipient).where(OutboxRecipient.outbox_id == row.id)
        ):
            if recipient.status == "queued":
                recipient.status = SENT
        event = "sent"
    else:
        row.status, row.reason = NEEDS_REVIEW, ErrorCode.INTERRUPTED_DURING_SEND
        event = "needs_review"
    record_event(
        session,
        workspace_id=row.workspace_id,
        account_id=row.account_id,
        type=event,
        message_id=row.id,
        data={"message_id": row.message_id, "reason": row.reason},
    )


async def recover(ctx: Runtime, *, lookup: SentLookup | None) -> int:
    """Resolve every abandoned ``sending`` message. Returns how many were resolved."""
    now = ctx.clock.now()
    with ctx.sessions() as session:
        rows = stale(session, now=now)
    resolved = 0
    for outbox_id, account_id, message_id, has_imap in rows:
        found = False
        if has_imap and lookup is not None:
            looked = await lookup(account_id, message_id)
            if looked is None:
                log.warning("outbox %s: Sent folder unreachable, marking for review", outbox_id)
            found = bool(looked)
        with transaction(ctx.sessions) as session:
            _resolve(session, outbox_id=outbox_id, found=found, now=ctx.clock.now())
        resolved += 1
    return resolved
