"""Claiming due messages: row leases plus a locked per-account sending-state row.

On PostgreSQL several workers claim at once without a coordinator: the account's
``sending_state`` row is locked (``FOR UPDATE SKIP LOCKED``) while its caps are checked and its
slots reserved, so a cap of 50 holds globally; message rows are leased the same way. A lease
that expires (its worker died) makes the message claimable again — rows are never deleted.
SQLite ignores ``FOR UPDATE``: there, one worker.
"""

from __future__ import annotations

import random
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, func, not_, or_, select, true, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from fluenzr.sending import pacing
from fluenzr.sending.pauses import UNTIL_FIXED, auto_resume
from fluenzr.storage.base import aware, utcnow
from fluenzr.storage.models import Account
from fluenzr.storage.models.outbox import PENDING, OutboxMessage, SendingState


@dataclass(frozen=True)
class Claim:
    account_id: int
    outbox_ids: list[int]


@dataclass(frozen=True)
class ClaimRound:
    claims: list[Claim]
    next_due: datetime | None  # earliest time something blocked now may go


def _due(now: datetime) -> tuple[ColumnElement[bool], ...]:
    return (
        OutboxMessage.status.in_(PENDING),
        or_(OutboxMessage.next_attempt_at.is_(None), OutboxMessage.next_attempt_at <= now),
        or_(OutboxMessage.locked_until.is_(None), OutboxMessage.locked_until < now),
    )


def _has_due(now: datetime) -> ColumnElement[bool]:
    return (
        select(OutboxMessage.id).where(OutboxMessage.account_id == Account.id, *_due(now)).exists()
    )


def _hint_holds() -> ColumnElement[bool]:
    """The recorded wait still stands: the account row has not changed since it was written."""
    return and_(
        SendingState.wait_set_at.is_not(None), Account.updated_at <= SendingState.wait_set_at
    )


def _may_resume(now: datetime) -> ColumnElement[bool]:
    """Not paused, or paused but :func:`pauses.auto_resume` would lift it now."""
    reason = func.coalesce(Account.status_reason, "")
    return or_(
        Account.status != "paused",
        and_(
            reason.in_(UNTIL_FIXED),
            Account.credentials_changed_at.is_not(None),
            or_(
                SendingState.paused_at.is_(None),
                Account.credentials_changed_at > SendingState.paused_at,
            ),
        ),
        and_(reason.not_in(UNTIL_FIXED), Account.paused_until <= now),
    )


def due_accounts(
    session: Session, *, now: datetime, busy: Collection[int], limit: int
) -> list[int]:
    """Up to ``limit`` accounts with a due message that may send now, longest waiting first.

    An account still in its spacing gap, at a cap, outside its window or paused is skipped —
    it would be refused anyway and would hold one of the ``limit`` places while the rest of
    the fleet starves. The order (the recorded wait, accounts never tried first) shares the
    places round-robin when more accounts may send than there are places.
    """
    query = (
        select(Account.id)
        .outerjoin(SendingState, SendingState.account_id == Account.id)
        .where(
            _has_due(now),
            or_(SendingState.next_send_at.is_(None), SendingState.next_send_at <= now),
            or_(
                SendingState.wait_until.is_(None),
                SendingState.wait_until <= now,
                not_(_hint_holds()),
            ),
            _may_resume(now),
        )
        .order_by(SendingState.wait_until.asc().nulls_first(), Account.id)
        .limit(limit)
    )
    if busy:
        query = query.where(Account.id.not_in(list(busy)))
    return list(session.scalars(query))


def next_ready(session: Session, *, now: datetime) -> datetime | None:
    """The earliest time a skipped account with a due message may be looked at again.

    Each candidate is a lower bound of one account's real time (its spacing, its recorded wait,
    its pause end): waking at it is never late, at worst one empty round early.
    """
    found: list[datetime] = []
    for column, extra in (
        (SendingState.next_send_at, true()),
        (SendingState.wait_until, _hint_holds()),
        (Account.paused_until, Account.status == "paused"),
    ):
        query = (
            select(func.min(column))
            .select_from(Account)
            .outerjoin(SendingState, SendingState.account_id == Account.id)
            .where(_has_due(now), column > now, extra)
        )
        value = aware(session.scalar(query))
        if value is not None:
            found.append(value)
    return min(found) if found else None


def next_due_message(session: Session, *, now: datetime) -> datetime | None:
    """When the earliest deferred/scheduled message becomes due (None: nothing waits)."""
    query = select(OutboxMessage.next_attempt_at).where(
        OutboxMessage.status.in_(PENDING), OutboxMessage.next_attempt_at > now
    )
    found = session.scalar(query.order_by(OutboxMessage.next_attempt_at).limit(1))
    return aware(found)


def ensure_state(session: Session, account_id: int) -> None:
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(SendingState).values(
        account_id=account_id, day_key="", day_count=0, hour_key="", hour_count=0, backoff_level=0
    )
    session.execute(statement.on_conflict_do_nothing(index_elements=["account_id"]))


def lock_state(session: Session, account_id: int) -> SendingState | None:
    """The account's sending state, locked; None when another worker holds it right now."""
    query = (
        select(SendingState)
        .where(SendingState.account_id == account_id)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    )
    state = session.scalar(query)
    if state is None:
        ensure_state(session, account_id)
        state = session.scalar(query)
    return state


def limits_of(account: Account) -> pacing.Limits:
    started = aware(account.warmup_started_on)
    return pacing.Limits(
        daily=account.daily_limit,
        hourly=account.hourly_limit,
        min_interval=account.min_interval,
        max_interval=account.max_interval,
        timezone=account.timezone or "UTC",
        window=pacing.Window.parse(account.send_window),
        warmup_start=account.warmup_start,
        warmup_increment=account.warmup_increment,
        warmup_started_on=started.date() if started else _created_day(account),
    )


def _created_day(account: Account) -> date | None:
    """A warm-up without a start day ramps from the day the account was added."""
    created = aware(account.created_at)
    return created.date() if created and account.warmup_start is not None else None


def counters_of(state: SendingState) -> pacing.Counters:
    return pacing.Counters(
        day_key=state.day_key,
        day_count=state.day_count,
        hour_key=state.hour_key,
        hour_count=state.hour_count,
        next_send_at=aware(state.next_send_at),
    )


def _claim_account(
    session: Session, *, account_id: int, worker_id: str, now: datetime, lease: timedelta
) -> tuple[Claim | None, datetime | None]:
    state = lock_state(session, account_id)
    account = session.get(Account, account_id)
    if state is None or account is None:
        return None, None
    if account.status == "paused" and not auto_resume(session, account, state, now=now):
        return None, aware(account.paused_until)
    limits = limits_of(account)
    counters = pacing.current(counters_of(state), now, ZoneInfo(limits.timezone))
    decision = pacing.decide(limits, counters, now)
    if decision.allowed <= 0:
        _record_wait(state, decision.wait_until)
        return None, decision.wait_until
    query = (
        select(OutboxMessage.id)
        .where(OutboxMessage.account_id == account_id, *_due(now))
        .order_by(OutboxMessage.id)
        .limit(decision.allowed)
        .with_for_update(skip_locked=True)
    )
    ids = list(session.scalars(query))
    if not ids:
        return None, None
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(ids))
        .values(locked_by=worker_id, locked_until=now + lease)
    )
    state.day_key, state.hour_key = counters.day_key, counters.hour_key
    state.day_count = counters.day_count + len(ids)
    state.hour_count = counters.hour_count + len(ids)
    gap = pacing.spacing(limits, random.Random())
    state.next_send_at = now + gap if gap else None
    # Back of the queue: until its gap ends, or (no spacing) behind those waiting since earlier.
    _record_wait(state, state.next_send_at or now)
    state.updated_at = now
    return Claim(account_id, ids), None


def _record_wait(state: SendingState, until: datetime | None) -> None:
    """Note on the locked state row when the pick should look at this account again."""
    state.wait_until = until.astimezone(UTC) if until is not None else None  # a wait may be local
    state.wait_set_at = utcnow()


def claim(
    session: Session,
    *,
    worker_id: str,
    now: datetime,
    lease: timedelta,
    busy: Collection[int] = (),
    max_accounts: int = 50,
) -> ClaimRound:
    """Lease due messages for up to ``max_accounts`` accounts, within each account's pacing."""
    claims: list[Claim] = []
    waits: list[datetime] = []
    for account_id in due_accounts(session, now=now, busy=busy, limit=max_accounts):
        found, wait = _claim_account(
            session, account_id=account_id, worker_id=worker_id, now=now, lease=lease
        )
        if found is not None:
            claims.append(found)
        if wait is not None:
            waits.append(wait)
    if not claims:  # only an idle worker needs to know when to look again
        for later in (next_due_message(session, now=now), next_ready(session, now=now)):
            if later is not None:
                waits.append(later)
    return ClaimRound(claims, min(waits) if waits else None)


def release(
    session: Session, *, account_id: int, outbox_ids: Sequence[int], worker_id: str, refund: bool
) -> None:
    """Give leased messages back (shutdown, pause, backoff); ``refund`` their reserved slots."""
    if not outbox_ids:
        return
    result = session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id.in_(outbox_ids),
            OutboxMessage.locked_by == worker_id,
            OutboxMessage.status.in_(PENDING),
        )
        .values(locked_by=None, locked_until=None)
    )
    count = int(getattr(result, "rowcount", 0) or 0)
    if refund and count:
        refund_slots(session, account_id=account_id, count=count)


def refund_slots(session: Session, *, account_id: int, count: int) -> None:
    """Slots reserved for messages that were not delivered go back to the caps."""
    state = session.scalar(
        select(SendingState).where(SendingState.account_id == account_id).with_for_update()
    )
    if state is not None:
        state.day_count = max(0, state.day_count - count)
        state.hour_count = max(0, state.hour_count - count)
