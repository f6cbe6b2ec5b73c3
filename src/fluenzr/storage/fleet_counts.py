"""Aggregate reads over the whole installation, for the operator's ``/metrics``.

Every function here is one ``GROUP BY`` (or one ``COUNT``) read with Core, the large tables
through their indexes (``outbox_messages`` by ``ix_outbox_due``, ``events`` by type and
message id): a scrape never reads a row per account into Python, and costs a few times one
``GROUP BY`` over the outbox at 10,000 accounts and 100,000 messages (``./dev bench
fleet_scheduler`` times it). Nothing here returns an address,
a subject or a workspace name: only counts keyed by bounded codes.

The database is the source of truth because workers are separate processes (on PostgreSQL,
separate hosts): a counter kept in the web process's memory would see none of their sends.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import (
    ColumnElement,
    Connection,
    Float,
    and_,
    case,
    cast,
    func,
    literal,
    select,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import InstrumentedAttribute

from fluenzr.storage import heartbeats
from fluenzr.storage.models import Account, Event
from fluenzr.storage.models.fleet import MailboxLease
from fluenzr.storage.models.outbox import OutboxMessage

# Events about a message we sent, found later by detection (the lag histogram's kinds).
DETECTED_KINDS = ("reply", "auto_reply", "bounce", "complaint", "unsubscribe")
# Seconds; from "the DSN came back at once" to "they answered a week later".
LAG_BUCKETS = (1.0, 5.0, 30.0, 60.0, 300.0, 900.0, 3600.0, 21600.0, 86400.0, 259200.0, 604800.0)
# A worker whose heartbeat is older than this is counted as gone (killed, host down).


def _json_text(
    connection: Connection, column: InstrumentedAttribute[str], key: str
) -> ColumnElement[str]:
    """``column``'s JSON ``key`` as text, with the dialect's own JSON function (read only on
    the few event types that carry one; ``events.data`` is always written by ``json.dumps``)."""
    if connection.dialect.name == "postgresql":
        text: ColumnElement[str] = cast(column, JSONB)[key].astext
        return text
    extracted: ColumnElement[str] = func.json_extract(column, f"$.{key}")
    return extracted


def outbox_by_state(connection: Connection) -> dict[str, int]:
    query = select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
    return {str(state): int(n) for state, n in connection.execute(query)}


@dataclass(frozen=True)
class ReasonCount:
    type: str  # sent | deferred | failed
    reason: str | None
    recipient_level: bool  # a "failed" for one recipient (RCPT refused), not the message
    count: int


def delivery_outcomes(connection: Connection) -> list[ReasonCount]:
    """Every ``sent``/``deferred``/``failed`` event ever recorded, by reason (counters)."""
    out = [
        ReasonCount("sent", None, False, int(n))
        for (n,) in connection.execute(select(func.count()).where(Event.type == "sent"))
    ]
    reason = _json_text(connection, Event.data, "reason")
    recipient_level = Event.recipient.is_not(None)
    query = (
        select(Event.type, reason, recipient_level, func.count())
        .where(Event.type.in_(("deferred", "failed")))
        .group_by(Event.type, reason, recipient_level)
    )
    for kind, why, level, n in connection.execute(query):
        out.append(ReasonCount(str(kind), None if why is None else str(why), bool(level), int(n)))
    return out


def accounts_by_status(connection: Connection) -> dict[str, int]:
    query = select(Account.status, func.count()).group_by(Account.status)
    return {str(status): int(n) for status, n in connection.execute(query)}


def last_probar_outcomes(connection: Connection) -> dict[str, int]:
    """Accounts by the outcome of their last Probar: ``ok``, ``failed`` or ``never``."""
    outcome = case(
        (Account.last_test_ok.is_(None), literal("never")),
        (Account.last_test_ok.is_(True), literal("ok")),
        else_=literal("failed"),
    )
    query = select(outcome, func.count()).group_by(outcome)
    return {str(kind): int(n) for kind, n in connection.execute(query)}


def probar_runs(connection: Connection) -> dict[tuple[str, str | None], int]:
    """Every Probar run recorded (``account_tested`` events), by outcome and error code."""
    ok = _json_text(connection, Event.data, "ok")
    code = _json_text(connection, Event.data, "code")
    query = select(ok, code, func.count()).where(Event.type == "account_tested").group_by(ok, code)
    found: dict[tuple[str, str | None], int] = {}
    for passed, why, n in connection.execute(query):
        outcome = "ok" if str(passed).lower() in ("1", "true") else "failed"
        key = (outcome, None if why is None else str(why))
        found[key] = found.get(key, 0) + int(n)
    return found


@dataclass(frozen=True)
class LeaseCounts:
    held: int  # live leases: a worker watches the mailbox now (one IMAP session each)
    takeovers: int  # leases taken from a worker whose lease had expired, summed


def mailbox_leases(connection: Connection, *, now: datetime) -> LeaseCounts:
    held = func.sum(
        case(
            (and_(MailboxLease.owner.is_not(None), MailboxLease.expires_at > now), 1),
            else_=0,
        )
    )
    row = connection.execute(
        select(func.coalesce(held, 0), func.coalesce(func.sum(MailboxLease.takeovers), 0))
    ).one()
    return LeaseCounts(held=int(row[0]), takeovers=int(row[1]))


def workers_alive(connection: Connection, *, now: datetime, stale_after: timedelta) -> int:
    """Workers alive by the Workers page's own rule (:func:`heartbeats.alive_filter`)."""
    query = select(func.count()).where(*heartbeats.alive_filter(now, stale_after))
    return int(connection.scalar(query) or 0)


@dataclass(frozen=True)
class LagHistogram:
    kind: str
    buckets: list[int]  # cumulative counts, one per LAG_BUCKETS bound (+Inf is ``count``)
    count: int
    total: float  # seconds


def _lag_seconds(connection: Connection) -> ColumnElement[float]:
    if connection.dialect.name == "postgresql":
        interval = Event.created_at - OutboxMessage.sent_at
        return cast(func.extract("epoch", interval), Float)
    return (func.julianday(Event.created_at) - func.julianday(OutboxMessage.sent_at)) * 86400.0


def delivery_lag(
    connection: Connection, *, buckets: Sequence[float] = LAG_BUCKETS
) -> list[LagHistogram]:
    """Time from our delivery (the outbox row's ``sent_at``) to the event detection recorded
    about that message (reply, bounce…), bucketed in SQL: one row per kind."""
    raw = _lag_seconds(connection)
    lag = case((raw < 0, 0.0), else_=raw)  # clocks of two hosts a little apart
    columns = [func.sum(case((lag <= bound, 1), else_=0)) for bound in buckets]
    query = (
        select(Event.type, func.count(), func.coalesce(func.sum(lag), 0.0), *columns)
        .join(OutboxMessage, OutboxMessage.id == Event.message_id)
        .where(Event.type.in_(DETECTED_KINDS), OutboxMessage.sent_at.is_not(None))
        .group_by(Event.type)
    )
    found = []
    for row in connection.execute(query):
        kind, count, total, *cumulative = row
        found.append(
            LagHistogram(
                kind=str(kind),
                buckets=[int(c or 0) for c in cumulative],
                count=int(count),
                total=float(total or 0.0),
            )
        )
    return found
