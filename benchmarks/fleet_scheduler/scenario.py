"""The fleet the scheduler benchmark runs: accounts with varied pacing, a full outbox, a fake day.

The day is driven through the sending engine's own pick (``sending.leases.claim``, which reads
``sending.pacing``) with an injected time, and what it claims is recorded as sent through the
engine's own writer statement (``sending.message_records.mark_sent``): no SMTP, but exactly the
messages the engine would have put on the wire, at the times it would have.
"""

from __future__ import annotations

import itertools
import json
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, select, text

from fluenzr.core.clock import Clock
from fluenzr.sending import leases, pacing
from fluenzr.sending.message_records import Delivered, mark_sent
from fluenzr.services import outbox
from fluenzr.services.context import AppContext, default_workspace_id
from fluenzr.storage.engine import transaction
from fluenzr.storage.models import Account
from fluenzr.storage.models.outbox import OutboxMessage, OutboxRecipient, SendingState

START = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)  # a Monday, 00:00 UTC
ZONES = ("UTC", "Europe/Madrid", "America/New_York", "Asia/Tokyo")
WEEKDAYS_9_TO_6 = json.dumps({"days": [0, 1, 2, 3, 4], "start": "09:00", "end": "18:00"})
LEASE = timedelta(minutes=5)
CHUNK = 500  # messages per enqueue transaction, as the send benchmark


class SimClock(Clock):
    """The injected clock (``core.clock.Clock``'s one method), moved by the simulation."""

    def __init__(self, start: datetime) -> None:
        self.current = start

    def now(self) -> datetime:
        return self.current


def pacing_of(n: int) -> dict[str, object]:
    """Account ``n``'s settings: every combination of caps, spacing, window, warm-up, zone."""
    spacing = [(0, 0), (60, 180), (300, 600), (30, 90), (120, 240)][n % 5]
    return {
        "daily_limit": 3 + n % 8,
        "hourly_limit": 1 + n % 4,
        "min_interval": spacing[0],
        "max_interval": spacing[1],
        "timezone": ZONES[n % len(ZONES)],
        "send_window": WEEKDAYS_9_TO_6 if n % 7 == 0 else None,
        "warmup_start": 2 if n % 11 == 0 else None,
        "warmup_increment": 1 if n % 11 == 0 else None,
        "warmup_started_on": START if n % 11 == 0 else None,
    }


def add_accounts(ctx: AppContext, count: int) -> list[int]:
    """Rows written directly (no password is ever opened: nothing connects anywhere)."""
    workspace = default_workspace_id(ctx.sessions)
    rows = [
        {
            "workspace_id": workspace,
            "email": f"sender{n}@example.com",
            "display_name": f"Sender {n}",
            "smtp_host": "127.0.0.1",
            "smtp_port": 2525,
            "smtp_security": "none",
            "smtp_username": f"sender{n}@example.com",
            "smtp_password_sealed": b"unused",
            "smtp_auth": False,
            "created_at": START - timedelta(days=30),
            "updated_at": START - timedelta(days=30),
            **pacing_of(n),
        }
        for n in range(count)
    ]
    with transaction(ctx.sessions) as session:
        session.execute(insert(Account), rows)
    with ctx.sessions() as session:
        return list(session.scalars(select(Account.id).order_by(Account.id)))


def requests(ids: list[int], per_account: int) -> list[outbox.SendRequest]:
    return [
        outbox.SendRequest(
            account_id=account_id,
            to=[f"lead{k}.{account_id}@example.org"],
            subject="Una pregunta rápida",
            text="Hola,\n¿tienes cinco minutos esta semana?\nUn saludo,\nAna\n",
        )
        for k in range(per_account)
        for account_id in ids
    ]


def enqueue_all(ctx: AppContext, batch: list[outbox.SendRequest]) -> float:
    """Seconds to enqueue ``batch`` through the outbox service (validation, MIME, insert)."""
    workspace = default_workspace_id(ctx.sessions)
    started = time.perf_counter()
    for start in range(0, len(batch), CHUNK):
        outbox.enqueue_many(ctx, workspace_id=workspace, requests=batch[start : start + CHUNK])
    return time.perf_counter() - started


def raw_insert(ctx: AppContext, requests: list[outbox.SendRequest], *, keep: bool) -> float:
    """Plain executemany INSERTs of outbox rows and their recipients, the bytes copied from an
    enqueued message: the reference rate; ``keep`` commits them (the rest of the 100,000),
    else they are rolled back."""
    with ctx.sessions() as session:
        sample = session.scalars(select(OutboxMessage).limit(1)).one()
        workspace, mime = sample.workspace_id, sample.mime
    messages = OutboxMessage.__table__
    recipients = OutboxRecipient.__table__
    elapsed = 0.0
    with ctx.engine.connect() as connection:
        first = int(connection.scalar(select(func.max(OutboxMessage.id))) or 0) + 1
        for start in range(0, len(requests), CHUNK):
            chunk = list(enumerate(requests[start : start + CHUNK], start=first + start))
            rows = [
                {
                    "id": oid,
                    "workspace_id": workspace,
                    "account_id": r.account_id,
                    "message_id": f"bench-{oid}@example.com",
                    "envelope_from": "s@example.com",
                    "subject": r.subject,
                    "mime": mime,
                    "status": "queued",
                    "created_at": START,
                    "updated_at": START,
                }
                for oid, r in chunk
            ]
            to = [{"outbox_id": oid, "email": r.to[0], "status": "queued"} for oid, r in chunk]
            began = time.perf_counter()
            connection.execute(messages.insert(), rows)  # type: ignore[attr-defined]
            connection.execute(recipients.insert(), to)  # type: ignore[attr-defined]
            elapsed += time.perf_counter() - began
        if keep:
            connection.commit()
        else:
            connection.rollback()
    return elapsed


def time_claim(ctx: AppContext, *, now: datetime, rounds: int) -> list[float]:
    """Seconds per real claim round (up to 100 accounts, the worker's default), rolled back."""
    times = []
    for _ in range(rounds):
        with ctx.sessions() as session:
            started = time.perf_counter()
            leases.claim(session, worker_id="bench", now=now, lease=LEASE, max_accounts=100)
            times.append(time.perf_counter() - started)
            session.rollback()
    return times


def time_raw_pick(ctx: AppContext, *, now: datetime, rounds: int) -> list[float]:
    """The reference: the pick's SELECT (due accounts) as hand-written SQL."""
    query = text(
        "SELECT DISTINCT account_id FROM outbox_messages WHERE status IN ('queued', 'deferred')"
        " AND (next_attempt_at IS NULL OR next_attempt_at <= :now)"
        " AND (locked_until IS NULL OR locked_until < :now) LIMIT 100"
    )
    times = []
    with ctx.engine.connect() as connection:
        for _ in range(rounds):
            started = time.perf_counter()
            connection.execute(query, {"now": now}).all()
            times.append(time.perf_counter() - started)
    return times


@dataclass
class Day:
    sends: dict[int, list[datetime]] = field(default_factory=lambda: defaultdict(list))
    reserved: list[tuple[int, datetime, datetime | None]] = field(default_factory=list)
    rounds: int = 0
    seconds: float = 0.0


def simulate(ctx: AppContext, *, clock: SimClock, hours: float) -> Day:
    """The worker's loop with an injected clock: claim, deliver what was claimed, then sleep
    until the earliest time the round said something may go (the real worker sleeps at most
    ``poll`` seconds, but nothing changes before that time: skipping the idle looks is exact)."""
    ctx.clock = clock
    day, end = Day(), clock.now() + timedelta(hours=hours)
    started = time.perf_counter()
    while clock.now() < end:
        now = clock.now()
        with transaction(ctx.sessions) as session:
            round_ = leases.claim(session, worker_id="sim", now=now, lease=LEASE)
            claimed = [(c.account_id, i) for c in round_.claims for i in c.outbox_ids]
            if claimed:
                rows = session.execute(
                    select(
                        OutboxMessage.id, OutboxMessage.workspace_id, OutboxMessage.message_id
                    ).where(OutboxMessage.id.in_([i for _, i in claimed]))
                ).all()
                meta = {row.id: row for row in rows}
                done = [
                    Delivered(
                        outbox_id=i,
                        workspace_id=meta[i].workspace_id,
                        account_id=a,
                        message_id=meta[i].message_id,
                        accepted=["lead@example.org"],
                        partial=False,
                        copy=False,
                        at=now,
                    )
                    for a, i in claimed
                ]
                mark_sent(session.connection(), done)
                accounts = sorted({a for a, _ in claimed})
                states = session.execute(
                    select(SendingState.account_id, SendingState.next_send_at).where(
                        SendingState.account_id.in_(accounts)
                    )
                ).all()
                for account_id, next_send_at in states:
                    day.reserved.append((account_id, now, next_send_at))
        for account_id, outbox_id in claimed:
            del outbox_id
            day.sends[account_id].append(now)
        day.rounds += 1
        if claimed:
            clock.current = now + timedelta(seconds=1)  # an SMTP transaction takes time
        else:
            nxt = round_.next_due
            # A wait may be in the account's zone; the engine's clock always reads UTC.
            clock.current = max(now + timedelta(seconds=1), nxt).astimezone(UTC) if nxt else end
    day.seconds = time.perf_counter() - started
    return day


@dataclass
class Verdict:
    sends: int
    accounts_served: int
    violations: list[str]
    allowed_today: int


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def verify(ctx: AppContext, day: Day, *, hours: float) -> Verdict:
    """Every cap checked on what was sent: per local day (warm-up ramp included), per local
    hour, the window, the minimum gap; and every reserved gap at most ``max_interval``."""
    with ctx.sessions() as session:
        accounts = {a.id: a for a in session.scalars(select(Account))}
        per_account = select(OutboxMessage.account_id, func.count())
        queued = {a: int(n) for a, n in session.execute(per_account.group_by("account_id"))}
    problems: list[str] = []
    allowed = 0
    for account_id, account in accounts.items():
        limits = leases.limits_of(account)
        tz = ZoneInfo(limits.timezone)
        cap = pacing.daily_cap(limits, START.astimezone(tz).date())
        allowed += min(cap, queued.get(account_id, 0))
        times = sorted(day.sends.get(account_id, []))
        per_day: dict[date, int] = defaultdict(int)
        per_hour: dict[tuple[date, int], int] = defaultdict(int)
        for moment in times:
            local = moment.astimezone(tz)
            per_day[local.date()] += 1
            per_hour[(local.date(), local.hour)] += 1
            if limits.window is not None and limits.window.next_open(moment, tz) is not None:
                problems.append(f"account {account_id}: sent at {local} outside its window")
        for today, n in per_day.items():
            if n > pacing.daily_cap(limits, today):
                problems.append(f"account {account_id}: {n} on {today} > daily cap")
        for hour, n in per_hour.items():
            if n > limits.hourly:
                problems.append(f"account {account_id}: {n} in hour {hour} > hourly cap")
        if limits.max_interval > 0:
            for first, second in itertools.pairwise(times):
                if (second - first).total_seconds() < limits.min_interval:
                    problems.append(f"account {account_id}: {second - first} < min_interval")
    for account_id, at, next_send_at in day.reserved:
        limits = leases.limits_of(accounts[account_id])
        reserved = _aware(next_send_at)
        if limits.max_interval > 0 and reserved is not None:
            gap = (reserved - at).total_seconds()
            if not limits.min_interval <= gap <= limits.max_interval:
                problems.append(f"account {account_id}: reserved gap {gap:.0f} s out of range")
    del hours
    return Verdict(
        sends=sum(len(v) for v in day.sends.values()),
        accounts_served=sum(1 for v in day.sends.values() if v),
        violations=problems,
        allowed_today=allowed,
    )
