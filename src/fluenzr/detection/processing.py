"""From fetched mail to database facts: triage on headers, then classify, match and apply.

The watcher fetches only header fields for new UIDs; :func:`relevant_uids` picks the few worth a
body fetch (they reference one of our Message-IDs, look like a bounce, or come from someone we
wrote to recently); :func:`process_message` classifies one of those and records it exactly once
per (account, mailbox, UIDVALIDITY, UID) — and once per Message-ID, so a resync after a
UIDVALIDITY change cannot double-count.

Incoming mail is hostile: a message beyond the limits of :mod:`limits`, or whose parsing or
classification fails, is recorded as an ``unparseable`` event (reason code, size; never its
text) and the batch goes on — one message can never hold the mailbox's position back.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from email.message import Message

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fluenzr.detection import bounces, complaint_actions, consequences, matching
from fluenzr.detection.config import DetectionConfig
from fluenzr.detection.limits import Unparseable
from fluenzr.detection.message import address, header, message_ids, parse_headers
from fluenzr.detection.message_kinds import Classification
from fluenzr.detection.offloop import Classifier, Parsed, classify_guarded
from fluenzr.storage import recipients
from fluenzr.storage.events import record_event
from fluenzr.storage.models import Account, Event
from fluenzr.storage.models.detection import IncomingMessage
from fluenzr.storage.models.outbox import SENT, OutboxMessage, OutboxRecipient

# Header fields the watcher fetches for triage (BODY.PEEK[HEADER.FIELDS (...)]).
TRIAGE_FIELDS: tuple[str, ...] = (
    "FROM",
    "TO",
    "SUBJECT",
    "DATE",
    "MESSAGE-ID",
    "IN-REPLY-TO",
    "REFERENCES",
    "CONTENT-TYPE",
    "RETURN-PATH",
    "AUTO-SUBMITTED",
    "X-FAILED-RECIPIENTS",
    "PRECEDENCE",
    "LIST-ID",
)


@dataclass(frozen=True)
class Processed:
    incoming_id: int
    kind: str
    outbox_id: int | None
    match_rule: str | None
    event_id: int | None


def relevant_uids(
    session: Session,
    headers: Sequence[tuple[int, bytes]],
    *,
    workspace_id: int,
    account_id: int,
    now: datetime,
    config: DetectionConfig,
) -> list[int]:
    """UIDs whose header fields make them worth fetching whole (few, in an outreach inbox)."""
    triaged = []
    for uid, raw in headers:
        try:
            msg = parse_headers(raw)
            refs = message_ids(header(msg, "In-Reply-To")) + message_ids(header(msg, "References"))
            sender = address(msg, "From")[1]
        except Exception:  # triage is a hint: such a message is fetched and judged whole
            msg, refs, sender = parse_headers(b""), [], ""
            triaged.append((uid, msg, ["\x00unreadable"], sender))
            continue
        triaged.append((uid, msg, refs[:200], sender))
    ours = _our_ids(
        session, workspace_id=workspace_id, ids={r for _, _, refs, _ in triaged for r in refs}
    )
    wrote_to = _recent_recipients(
        session,
        account_id=account_id,
        emails={sender for *_, sender in triaged},
        since=now - config.match_window,
    )
    return [
        uid
        for uid, msg, refs, sender in triaged
        if any(ref in ours for ref in refs)
        or sender in wrote_to
        or "\x00unreadable" in refs
        or _looks_like_bounce(msg)
    ]


def _looks_like_bounce(msg: Message) -> bool:
    try:
        return bounces.looks_like_bounce(msg)
    except Exception:
        return True  # unsure: fetch it whole, where a failure is quarantined


def _our_ids(session: Session, *, workspace_id: int, ids: Iterable[str]) -> set[str]:
    wanted = list(ids)
    found: set[str] = set()
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        found.update(
            session.scalars(
                select(OutboxMessage.message_id).where(
                    OutboxMessage.workspace_id == workspace_id,
                    OutboxMessage.message_id.in_(chunk),
                )
            )
        )
    return found


def _recent_recipients(
    session: Session, *, account_id: int, emails: set[str], since: datetime
) -> set[str]:
    wanted = [e for e in emails if e]
    found: set[str] = set()
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        found.update(
            e.lower()
            for e in session.scalars(
                select(OutboxRecipient.email)
                .join(OutboxMessage, OutboxMessage.id == OutboxRecipient.outbox_id)
                .where(
                    OutboxMessage.account_id == account_id,
                    OutboxMessage.status == SENT,
                    OutboxMessage.sent_at >= since,
                    func.lower(OutboxRecipient.email).in_(chunk),
                )
            )
        )
    return found


def already_processed(session: Session, *, account_id: int, message_id_value: str | None) -> bool:
    if not message_id_value:
        return False
    return (
        session.scalar(
            select(IncomingMessage.id).where(
                IncomingMessage.account_id == account_id,
                IncomingMessage.message_id == message_id_value,
            )
        )
        is not None
    )


def process_message(
    session: Session,
    raw: bytes,
    *,
    account: Account,
    mailbox: str,
    uidvalidity: int,
    uid: int,
    now: datetime,
    config: DetectionConfig,
) -> Processed | None:
    """Classify, match and apply one fetched message; None if unrelated or already done."""
    done = process_batch(
        session,
        [(uid, raw)],
        account=account,
        mailbox=mailbox,
        uidvalidity=uidvalidity,
        now=now,
        config=config,
    )
    return done[0] if done else None


def process_batch(
    session: Session,
    messages: Sequence[tuple[int, bytes]],
    *,
    account: Account,
    mailbox: str,
    uidvalidity: int,
    now: datetime,
    config: DetectionConfig,
    classifier: Classifier | None = None,
) -> list[Processed]:
    """Classify (in this thread) and process fetched messages; see :func:`process_parsed`."""
    own = frozenset({account.email.lower()})
    parsed: list[tuple[int, Parsed]] = [
        (uid, classify_guarded(raw, own_addresses=own, config=config, classifier=classifier))
        for uid, raw in messages
    ]
    return process_parsed(
        session,
        parsed,
        account=account,
        mailbox=mailbox,
        uidvalidity=uidvalidity,
        now=now,
        config=config,
    )


def record_unparseable(
    session: Session,
    found: Unparseable,
    *,
    account: Account,
    mailbox: str,
    uidvalidity: int,
    uid: int,
) -> Event:
    """The quarantine record of one message: an ``unparseable`` event, its reason code."""
    data = {**found.to_dict(), "mailbox": mailbox, "uidvalidity": uidvalidity, "uid": uid}
    return record_event(
        session,
        workspace_id=account.workspace_id,
        type="unparseable",
        account_id=account.id,
        data=data,
    )


def process_parsed(
    session: Session,
    parsed_all: Sequence[tuple[int, Parsed]],
    *,
    account: Account,
    mailbox: str,
    uidvalidity: int,
    now: datetime,
    config: DetectionConfig,
) -> list[Processed]:
    """Process classified messages in the caller's transaction, flushing once at the end.

    Autoflush is off: a flush per query (or even per message) cost more than everything else.
    What later messages of the batch must see is kept in memory instead — the Message-IDs done
    so far, and the recipient states (see :func:`consequences.recipient_state`); a bounce still
    flushes, because the account's bounce rate is counted in SQL.
    """
    parsed: list[tuple[int, Classification]] = []
    for uid, item in parsed_all:
        if isinstance(item, Unparseable):
            record_unparseable(
                session, item, account=account, mailbox=mailbox, uidvalidity=uidvalidity, uid=uid
            )
        else:
            parsed.append((uid, item))
    known = matching.prefetch(session, [c for _, c in parsed], workspace_id=account.workspace_id)
    seen = _processed_ids(session, account_id=account.id, parsed=parsed)
    _prefetch_recipient_states(session, workspace_id=account.workspace_id, parsed=parsed)
    done: list[tuple[Processed, IncomingMessage, Event | None]] = []
    with session.no_autoflush:
        for uid, result in parsed:
            found = _process(
                session,
                result,
                account=account,
                mailbox=mailbox,
                uidvalidity=uidvalidity,
                uid=uid,
                now=now,
                config=config,
                seen=seen,
                known=known,
            )
            if found is not None:
                done.append(found)
    session.flush()
    out = []
    for processed, row, event in done:
        if event is not None:
            row.event_id = event.id  # written by the commit's flush
        out.append(replace(processed, incoming_id=row.id, event_id=row.event_id))
    return out


def _processed_ids(
    session: Session, *, account_id: int, parsed: Sequence[tuple[int, Classification]]
) -> set[str]:
    """Message-IDs of this batch this account already recorded (a resync, a copy)."""
    ids = sorted({c.message_id for _, c in parsed if c.message_id})
    found: set[str] = set()
    for start in range(0, len(ids), 500):
        found.update(
            str(value)
            for value in session.scalars(
                select(IncomingMessage.message_id).where(
                    IncomingMessage.account_id == account_id,
                    IncomingMessage.message_id.in_(ids[start : start + 500]),
                )
            )
        )
    return found


def _prefetch_recipient_states(
    session: Session, *, workspace_id: int, parsed: Sequence[tuple[int, Classification]]
) -> None:
    emails = sorted(
        {c.from_address for _, c in parsed if c.from_address}
        | {f for _, c in parsed for f in c.failed_recipients}
    )
    for start in range(0, len(emails), 500):
        chunk = emails[start : start + 500]
        recipients.remember_recipient_states(session, workspace_id=workspace_id, emails=chunk)
        consequences.remember_stop_on_reply(session, workspace_id=workspace_id, emails=chunk)


def _process(
    session: Session,
    result: Classification,
    *,
    account: Account,
    mailbox: str,
    uidvalidity: int,
    uid: int,
    now: datetime,
    config: DetectionConfig,
    seen: set[str],
    known: matching.Known,
) -> tuple[Processed, IncomingMessage, Event | None] | None:
    incoming_id = result.message_id
    if incoming_id in seen:
        return None
    found = matching.match(
        session,
        result,
        workspace_id=account.workspace_id,
        account_id=account.id,
        now=now,
        window=config.match_window,
        known=known,
    )
    kind: str = result.kind
    if kind == "bounce" and not consequences.bounce_targets(result, found):
        kind = "bounce_unmatched"  # about nobody we wrote to: kept, without consequence
    elif kind == "complaint" and (found is None or not found.recipient):
        kind = "complaint_unmatched"
    elif kind == "auto_reply" and found is None:
        kind = "auto_reply_unmatched"
    elif found is None:
        return None
    if result.kind == "other" and result.rule == "not_a_reply":
        # Linked to our mail by its headers or subject: a person answered (no "Re:" kept).
        result = replace(result, kind="reply", rule="human_matched")
    if result.kind == "other":
        return None
    if result.kind == "reply":
        kind = "reply"
    if incoming_id:
        seen.add(incoming_id)
    row = IncomingMessage(
        workspace_id=account.workspace_id,
        account_id=account.id,
        mailbox=mailbox,
        uidvalidity=uidvalidity,
        uid=uid,
        message_id=result.message_id,
        kind=kind,
        rule=result.rule[:64],
        outbox_id=found.outbox_id if found else None,
        match_rule=found.rule if found else None,
        from_address=result.from_address[:320],
        recipient=found.recipient if not kind.endswith("_unmatched") and found else None,
        subject=result.subject,
        permanent=result.permanent,
        data=json.dumps(result.to_dict(), ensure_ascii=False, default=str),
        received_at=now,
        intent=result.intent if kind == "reply" else None,
        intent_phrase=(result.intent_phrase or None) if kind == "reply" else None,
        referred=result.referred if kind == "reply" else None,
        thread_index=result.thread_index,
    )
    session.add(row)
    if kind.endswith("_unmatched"):
        outcome = consequences.unmatched(session, result, account=account, found=found)
    elif kind == "complaint" and found is not None:
        session.flush()  # the account's complaint rate counts this message too
        outcome = complaint_actions.apply_complaint(
            session, result, account=account, found=found, now=now, config=config
        )
    else:
        if kind == "bounce":
            session.flush()  # the account's bounce rate counts this message too
        outcome = consequences.apply(
            session, result, account=account, found=found, now=now, config=config
        )
    processed = Processed(
        incoming_id=0,
        kind=kind,
        outbox_id=found.outbox_id if found else None,
        match_rule=found.rule if found else None,
        event_id=None,
    )
    return processed, row, outcome.event
