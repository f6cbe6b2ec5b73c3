"""What a detection changes, in the caller's transaction: events, suppression, stop-on-reply, pause.

- ``bounce`` (matched to our mail *and* to a recipient of it): event; a permanent one suppresses
  the failed recipients this account wrote to and counts toward the account's bounce rate — over
  the threshold (default 5% of the last 100 sent, with at least ``bounce_rate_min_sends`` sent)
  the account is paused with reason ``bounce_rate``;
- ``bounce_unmatched``: a bounce about no recipient of ours (forged, or for mail we never sent):
  an event for the user to see, nothing else — no suppression, no bounce-rate count, no pause;
- ``complaint`` (an ARF spam report, matched to a recipient of ours): event, the complainant
  suppressed (reason ``complaint``), and the account's complaint rate — complaints among its
  last ``complaint_rate_window`` (1000) sent — checked: over ``complaint_rate_threshold``
  (0.1%, Gmail's and Yahoo's bulk-sender limit) the account is paused (``complaint_rate``);
- ``auto_reply_unmatched`` / ``complaint_unmatched``: like ``bounce_unmatched``, visible only;
- ``auto_reply``: event and the recipient's stated return date; never counts as a reply; with
  ``away_defers_followups``, queued ``stop_on_reply`` mail to them waits until the day after;
- ``reply``: event, recipient marked replied, queued ``stop_on_reply`` messages to them
  cancelled; an unsubscribe request also suppresses the address and records ``unsubscribe``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fluenzr.detection.config import DetectionConfig
from fluenzr.detection.matching import Match
from fluenzr.detection.message_kinds import Classification
from fluenzr.error_codes import ErrorCode
from fluenzr.storage import hard_bounces, recipients
from fluenzr.storage.base import aware
from fluenzr.storage.events import record_event
from fluenzr.storage.models import Account, Event
from fluenzr.storage.models.outbox import (
    CANCELLED,
    PENDING,
    OutboxMessage,
    OutboxRecipient,
)

BOUNCE_RATE = ErrorCode.BOUNCE_RATE


@dataclass(frozen=True)
class Outcome:
    event: Event | None
    cancelled: tuple[int, ...] = ()
    suppressed: tuple[str, ...] = ()
    paused: bool = False


def bounce_targets(classification: Classification, found: Match | None) -> list[str]:
    """The failed recipients of a bounce this account really sent the matched message to."""
    if found is None:
        return []
    if classification.failed_recipients:
        mine = set(found.recipients) | ({found.recipient} if found.recipient else set())
        return [f for f in classification.failed_recipients if f in mine]
    return [found.recipient] if found.recipient else []


def bounce_unmatched(
    session: Session, classification: Classification, *, account: Account, found: Match | None
) -> Outcome:
    """Record a bounce that names nobody we wrote to: visible, without any consequence."""
    return unmatched(session, classification, account=account, found=found)


def unmatched(
    session: Session, classification: Classification, *, account: Account, found: Match | None
) -> Outcome:
    """``<kind>_unmatched``: a bounce, complaint or auto-reply about no mail or recipient of
    ours — recorded for the user to see, with no suppression, count or pause."""
    data: dict[str, Any] = {
        "rule": classification.rule,
        "match_rule": found.rule if found else None,
        "from": classification.from_address,
        "subject": classification.subject,
        "incoming_message_id": classification.message_id,
        "failed_recipients": list(classification.failed_recipients)[:20],
        "status": classification.status,
        "complainant": classification.complainant,
        "return_date": (
            classification.return_date.isoformat() if classification.return_date else None
        ),
    }
    event = record_event(
        session,
        workspace_id=account.workspace_id,
        type=f"{classification.kind}_unmatched",
        account_id=account.id,
        message_id=found.outbox_id if found else None,
        data=data,
    )
    return Outcome(event=event)


def apply(
    session: Session,
    classification: Classification,
    *,
    account: Account,
    found: Match | None,
    now: datetime,
    config: DetectionConfig,
) -> Outcome:
    kind = classification.kind
    if found is None:
        return Outcome(event=None)
    if kind == "bounce":
        return _bounce(
            session, classification, account=account, found=found, now=now, config=config
        )
    if kind == "auto_reply":
        return _auto_reply(
            session, classification, account=account, found=found, now=now, config=config
        )
    return _reply(session, classification, account=account, found=found, now=now)


def event_data(classification: Classification, found: Match, **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "rule": classification.rule,
        "match_rule": found.rule,
        "from": classification.from_address,
        "subject": classification.subject,
        "incoming_message_id": classification.message_id,
    }
    data.update(extra)
    return data


def _bounce(
    session: Session,
    classification: Classification,
    *,
    account: Account,
    found: Match,
    now: datetime,
    config: DetectionConfig,
) -> Outcome:
    failed = bounce_targets(classification, found)
    if not failed:
        return bounce_unmatched(session, classification, account=account, found=found)
    event = record_event(
        session,
        workspace_id=account.workspace_id,
        type="bounce",
        account_id=account.id,
        message_id=found.outbox_id,
        recipient=found.recipient or (failed[0] if failed else None),
        data=event_data(
            classification,
            found,
            permanent=classification.permanent,
            status=classification.status,
            diagnostic=classification.diagnostic,
            failed_recipients=failed,
        ),
    )
    suppressed: list[str] = []
    paused = False
    if classification.permanent:
        detail = " ".join(x for x in (classification.status, classification.diagnostic) if x)
        for email in failed:
            state = recipients.recipient_state(
                session, workspace_id=account.workspace_id, email=email
            )
            state.bounced_at = now
            if recipients.suppress(
                session,
                workspace_id=account.workspace_id,
                email=email,
                reason="bounce",
                detail=detail or None,
                account_id=account.id,
            ):
                suppressed.append(email)
        session.flush()
        paused = _check_bounce_rate(session, account=account, now=now, config=config)
    return Outcome(event=event, suppressed=tuple(suppressed), paused=paused)


def _auto_reply(
    session: Session,
    classification: Classification,
    *,
    account: Account,
    found: Match,
    now: datetime,
    config: DetectionConfig,
) -> Outcome:
    back = classification.return_date
    held: tuple[int, ...] = ()
    resume = datetime.combine(back + timedelta(days=1), time(0, 0), tzinfo=UTC) if back else None
    if found.recipient:
        state = recipients.recipient_state(
            session, workspace_id=account.workspace_id, email=found.recipient
        )
        state.auto_replied_at = now
        state.away_until = datetime.combine(back, time(0, 0), tzinfo=UTC) if back else None
        if resume is not None and config.away_defers_followups:
            held = hold_stop_on_reply(
                session,
                workspace_id=account.workspace_id,
                email=found.recipient,
                until=resume,
                now=now,
            )
    extra: dict[str, Any] = {"return_date": back.isoformat() if back else None}
    if held and resume is not None:
        extra.update(held=list(held), held_until=resume.isoformat())
    event = record_event(
        session,
        workspace_id=account.workspace_id,
        type="auto_reply",
        account_id=account.id,
        message_id=found.outbox_id,
        recipient=found.recipient,
        data=event_data(classification, found, **extra),
    )
    return Outcome(event=event)


def hold_stop_on_reply(
    session: Session, *, workspace_id: int, email: str, until: datetime, now: datetime
) -> tuple[int, ...]:
    """Queued ``stop_on_reply`` mail to ``email`` no worker is sending waits until ``until``."""
    if until <= now:
        return ()
    known: dict[tuple[int, str], list[OutboxMessage]] = session.info.get("stop_on_reply", {})
    rows = known.get((workspace_id, email.lower()))
    if rows is None:
        rows = [
            r
            for r, _ in _pending_stop_on_reply(
                session, workspace_id=workspace_id, emails=[email.lower()]
            )
        ]
    held = []
    for row in rows:
        leased = row.locked_until is not None and (aware(row.locked_until) or now) > now
        if row.status not in PENDING or leased:
            continue
        current = aware(row.next_attempt_at)
        if current is None or current < until:
            row.next_attempt_at = until
            held.append(row.id)
    return tuple(held)


def _reply(
    session: Session,
    classification: Classification,
    *,
    account: Account,
    found: Match,
    now: datetime,
) -> Outcome:
    text = classification.reply_text or ""
    event = record_event(
        session,
        workspace_id=account.workspace_id,
        type="reply",
        account_id=account.id,
        message_id=found.outbox_id,
        recipient=found.recipient,
        data=event_data(
            classification,
            found,
            text=text[:4000],
            unsubscribe=classification.unsubscribe,
            intent=classification.intent,
            intent_phrase=classification.intent_phrase,
            referred=classification.referred,
        ),
    )
    if not found.recipient:
        return Outcome(event=event)
    state = recipients.recipient_state(
        session, workspace_id=account.workspace_id, email=found.recipient
    )
    state.replied_at = now
    state.reply_count = (state.reply_count or 0) + 1
    cancelled = cancel_stop_on_reply(
        session, workspace_id=account.workspace_id, email=found.recipient, now=now
    )
    suppressed: tuple[str, ...] = ()
    if classification.unsubscribe:
        state.unsubscribed_at = now
        recipients.suppress(
            session,
            workspace_id=account.workspace_id,
            email=found.recipient,
            reason="unsubscribe",
            detail=text[:500] or None,
            account_id=account.id,
        )
        suppressed = (found.recipient,)
        record_event(
            session,
            workspace_id=account.workspace_id,
            type="unsubscribe",
            account_id=account.id,
            message_id=found.outbox_id,
            recipient=found.recipient,
            data=event_data(classification, found),
        )
    return Outcome(event=event, cancelled=cancelled, suppressed=suppressed)


def _pending_stop_on_reply(
    session: Session, *, workspace_id: int, emails: list[str]
) -> list[tuple[OutboxMessage, str]]:
    return [
        (row, str(email))
        for row, email in session.execute(
            select(OutboxMessage, func.lower(OutboxRecipient.email))
            .join(OutboxRecipient, OutboxRecipient.outbox_id == OutboxMessage.id)
            .where(
                OutboxMessage.workspace_id == workspace_id,
                OutboxMessage.stop_on_reply.is_(True),
                OutboxMessage.status.in_(PENDING),
                func.lower(OutboxRecipient.email).in_(emails),
            )
            .with_for_update(of=OutboxMessage)
        )
    ]


def remember_stop_on_reply(session: Session, *, workspace_id: int, emails: list[str]) -> None:
    """Load, for a batch, the queued stop-on-reply messages to any of ``emails``."""
    known: dict[tuple[int, str], list[OutboxMessage]] = session.info.setdefault("stop_on_reply", {})
    wanted = [e.lower() for e in emails]
    for email in wanted:
        known.setdefault((workspace_id, email), [])
    for row, email in _pending_stop_on_reply(session, workspace_id=workspace_id, emails=wanted):
        known[(workspace_id, email)].append(row)


def cancel_stop_on_reply(
    session: Session,
    *,
    workspace_id: int,
    email: str,
    now: datetime,
    reason: ErrorCode = ErrorCode.REPLIED,
) -> tuple[int, ...]:
    """Cancel queued/deferred ``stop_on_reply`` messages to ``email`` no worker is sending."""
    email = email.lower()
    known: dict[tuple[int, str], list[OutboxMessage]] = session.info.get("stop_on_reply", {})
    rows = known.get((workspace_id, email))
    if rows is None:
        rows = [
            r for r, _ in _pending_stop_on_reply(session, workspace_id=workspace_id, emails=[email])
        ]
    cancelled = []
    for row in rows:
        leased = row.locked_until is not None and (aware(row.locked_until) or now) > now
        if row.status not in PENDING or leased:
            continue  # already cancelled, or a worker is sending it right now: too late
        row.status = CANCELLED
        row.reason = reason
        row.next_attempt_at = None
        cancelled.append(row.id)
    return tuple(cancelled)


def bounce_rate(session: Session, *, account_id: int, window: int) -> tuple[int, int]:
    """(permanently bounced, sent) over the account's last ``window`` messages that went out
    (DSN bounces and synchronous RCPT rejections alike: :mod:`fluenzr.storage.hard_bounces`)."""
    return hard_bounces.bounce_rate(session, account_id=account_id, window=window)


def _check_bounce_rate(
    session: Session, *, account: Account, now: datetime, config: DetectionConfig
) -> bool:
    return hard_bounces.check_bounce_rate(
        session,
        account=account,
        now=now,
        threshold=config.bounce_rate_threshold,
        window=config.bounce_rate_window,
        min_sends=config.bounce_rate_min_sends,
    )
