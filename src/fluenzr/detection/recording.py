"""Recording a classified batch and advancing the mailbox position, one message never blocking it.

The fast path is one transaction for the whole batch (its facts and the new position together,
so a crash replays at most this batch). If that transaction fails because of one message — a
value the database refuses, a code path that raises — the batch is retried one message per
transaction: the faulty message becomes an ``unparseable`` event with reason
``processing_error`` (the exception class only), the others are recorded, and the position
advances past all of them. A database outage is not a message's fault: it propagates, and the
watcher retries the batch after reconnecting.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from functools import partial

from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session

from fluenzr.detection.config import DetectionConfig
from fluenzr.detection.limits import PROCESSING_ERROR, Unparseable
from fluenzr.detection.mailbox import MailboxInfo
from fluenzr.detection.offloop import Parsed
from fluenzr.detection.ownership import Fence, LeaseLost
from fluenzr.detection.processing import process_parsed, record_unparseable
from fluenzr.storage.engine import transaction
from fluenzr.storage.models import Account
from fluenzr.storage.models.detection import ImapSyncState
from fluenzr.storage.runtime import Runtime

log = logging.getLogger(__name__)
INBOX = "INBOX"
# A database outage or a lost lease is not a message's fault: never quarantine for it.
_NOT_THE_MESSAGE = (OperationalError, InterfaceError, LeaseLost)


def record_batch(
    ctx: Runtime,
    *,
    account_id: int,
    info: MailboxInfo,
    uids: Sequence[int],
    parsed: Sequence[tuple[int, Parsed]],
    now: datetime,
    config: DetectionConfig,
    fence: Fence | None = None,
) -> tuple[int, int]:
    """(messages recorded, messages quarantined) for a batch covering ``uids``.

    ``fence`` runs first in every transaction: it raises :class:`LeaseLost` (never a message's
    fault, never quarantined) when this worker no longer owns the mailbox.
    """
    quarantined = sum(1 for _, item in parsed if isinstance(item, Unparseable))
    record = partial(_record, ctx, account_id, info, uids, now=now, config=config, fence=fence)
    try:
        return record(parsed, advance=True), quarantined
    except _NOT_THE_MESSAGE:
        raise
    except Exception as error:
        log.warning(
            "account %s: batch failed (%s), one message at a time",
            account_id,
            type(error).__name__,
        )
    done = 0
    for uid, item in parsed:
        try:
            done += record([(uid, item)], advance=False)
        except _NOT_THE_MESSAGE:
            raise
        except Exception as error:
            quarantined += 1
            found = Unparseable(PROCESSING_ERROR, type(error).__name__)
            log.warning("account %s: uid %s quarantined: %s", account_id, uid, found.detail)
            with transaction(ctx.sessions) as session:
                if fence is not None:
                    fence(session)
                account = session.get(Account, account_id)
                if account is not None:
                    record_unparseable(
                        session,
                        found,
                        account=account,
                        mailbox=INBOX,
                        uidvalidity=info.uidvalidity,
                        uid=uid,
                    )
    with transaction(ctx.sessions) as session:
        if fence is not None:
            fence(session)
        _advance(session, account_id, info, uids, now=now)
    return done, quarantined


def _record(
    ctx: Runtime,
    account_id: int,
    info: MailboxInfo,
    uids: Sequence[int],
    parsed: Sequence[tuple[int, Parsed]],
    *,
    now: datetime,
    config: DetectionConfig,
    fence: Fence | None,
    advance: bool,
) -> int:
    """Record ``parsed``; with ``advance``, the position moves past ``uids`` in the same commit."""
    with transaction(ctx.sessions) as session:
        if fence is not None:
            fence(session)
        account = session.get(Account, account_id)
        if account is None:
            return 0
        done = len(
            process_parsed(
                session,
                parsed,
                account=account,
                mailbox=INBOX,
                uidvalidity=info.uidvalidity,
                now=now,
                config=config,
            )
        )
        if advance:
            _advance(session, account_id, info, uids, now=now)
    return done


def _advance(
    session: Session, account_id: int, info: MailboxInfo, uids: Sequence[int], *, now: datetime
) -> None:
    state = session.get(ImapSyncState, (account_id, INBOX))
    if state is not None and state.uidvalidity == info.uidvalidity:
        state.last_uid = max(state.last_uid, max(uids))
        state.last_sync_at = now
        state.last_error = None
