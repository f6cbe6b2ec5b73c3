"""What a feedback-loop complaint changes: the complainant suppressed, the complaint rate checked.

A complaint (an ARF report matched to a recipient of ours, :mod:`complaints`) records a
``complaint`` event, puts the complainant on the suppression list (reason ``complaint``),
cancels their queued ``stop_on_reply`` mail (reason ``complained``) and checks the account's
complaint rate: complaints among its last ``complaint_rate_window`` (1000) sent messages. Over
``complaint_rate_threshold`` — 0.1%, the spam rate Gmail's and Yahoo's bulk-sender guidelines
ask senders to stay under — the account is paused with reason ``complaint_rate``. A complaint
about no recipient of ours is ``complaint_unmatched``: visible, without consequence.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fluenzr.detection import consequences
from fluenzr.detection.config import DetectionConfig
from fluenzr.detection.consequences import Outcome, event_data
from fluenzr.detection.matching import Match
from fluenzr.detection.message_kinds import Classification
from fluenzr.error_codes import ErrorCode
from fluenzr.storage import recipients
from fluenzr.storage.account_pausing import pause_account
from fluenzr.storage.events import record_event
from fluenzr.storage.models import Account
from fluenzr.storage.models.detection import IncomingMessage
from fluenzr.storage.models.outbox import SENT, OutboxMessage

COMPLAINT_RATE = ErrorCode.COMPLAINT_RATE


def apply_complaint(
    session: Session,
    classification: Classification,
    *,
    account: Account,
    found: Match,
    now: datetime,
    config: DetectionConfig,
) -> Outcome:
    who = found.recipient
    if not who:
        return consequences.unmatched(session, classification, account=account, found=found)
    event = record_event(
        session,
        workspace_id=account.workspace_id,
        type="complaint",
        account_id=account.id,
        message_id=found.outbox_id,
        recipient=who,
        data=event_data(classification, found, feedback_type=classification.feedback_type),
    )
    suppressed = recipients.suppress(
        session,
        workspace_id=account.workspace_id,
        email=who,
        reason="complaint",
        detail=classification.feedback_type,
        account_id=account.id,
    )
    cancelled = consequences.cancel_stop_on_reply(
        session, workspace_id=account.workspace_id, email=who, now=now, reason=ErrorCode.COMPLAINED
    )
    session.flush()
    paused = _check_complaint_rate(session, account=account, now=now, config=config)
    return Outcome(
        event=event, cancelled=cancelled, suppressed=(who,) if suppressed else (), paused=paused
    )


def complaint_rate(session: Session, *, account_id: int, window: int) -> tuple[int, int]:
    """(complaints, sent) over the account's last ``window`` sent messages."""
    recent = (
        select(OutboxMessage.id)
        .where(OutboxMessage.account_id == account_id, OutboxMessage.status == SENT)
        .order_by(OutboxMessage.sent_at.desc(), OutboxMessage.id.desc())
        .limit(window)
        .subquery()
    )
    sent = session.scalar(select(func.count()).select_from(recent)) or 0
    complained = session.scalar(
        select(func.count(func.distinct(IncomingMessage.outbox_id))).where(
            IncomingMessage.kind == "complaint",
            IncomingMessage.outbox_id.in_(select(recent.c.id)),
        )
    )
    return int(complained or 0), int(sent)


def _check_complaint_rate(
    session: Session, *, account: Account, now: datetime, config: DetectionConfig
) -> bool:
    if account.status == "paused":
        return False
    complained, sent = complaint_rate(
        session, account_id=account.id, window=config.complaint_rate_window
    )
    if not sent or complained / sent <= config.complaint_rate_threshold:
        return False
    pause_account(
        session,
        account,
        reason=COMPLAINT_RATE,
        now=now,
        until=None,
        error={
            "complaints": complained,
            "sent": sent,
            "threshold": config.complaint_rate_threshold,
        },
    )
    return True
