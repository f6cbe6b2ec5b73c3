"""Figures for the pages: sends today vs cap, replies, bounce rate, per-day series, recent events.

Everything is counted from the events table (written by the sending and detection systems), so
the dashboard works the same whether those run in this process or another.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel
from sqlalchemy import func, select

from fluenzr.services.context import AppContext
from fluenzr.storage.base import aware
from fluenzr.storage.models import Account, Event

COUNTED = ("sent", "reply", "bounce")
WINDOW_DAYS = 30


class AccountStats(BaseModel):
    sent_today: int = 0
    sent_30d: int = 0
    replies_30d: int = 0
    bounces_30d: int = 0

    @property
    def bounce_rate(self) -> float | None:
        return self.bounces_30d / self.sent_30d if self.sent_30d else None


class DayCounts(BaseModel):
    day: date
    sent: int = 0
    reply: int = 0
    bounce: int = 0


class EventRow(BaseModel):
    id: int
    type: str
    recipient: str | None
    message_id: int | None
    created_at: datetime
    data: dict[str, Any]


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _start_of_today(now: datetime, zone: ZoneInfo) -> datetime:
    local = now.astimezone(zone)
    return datetime.combine(local.date(), time(0), tzinfo=zone)


def workspace_stats(ctx: AppContext, *, workspace_id: int) -> dict[int, AccountStats]:
    """Per account of a workspace: today's sends (in the account's time zone) and 30-day counts."""
    now = ctx.clock.now()
    since = now - timedelta(days=WINDOW_DAYS)
    out: dict[int, AccountStats] = {}
    with ctx.sessions() as session:
        zones = dict(
            session.execute(
                select(Account.id, Account.timezone).where(Account.workspace_id == workspace_id)
            ).all()
        )
        rows = session.execute(
            select(Event.account_id, Event.type, func.count())
            .where(
                Event.workspace_id == workspace_id,
                Event.type.in_(COUNTED),
                Event.created_at >= since,
            )
            .group_by(Event.account_id, Event.type)
        ).all()
        for account_id, kind, count in rows:
            if account_id not in zones:
                continue
            stats = out.setdefault(account_id, AccountStats())
            field = {"sent": "sent_30d", "reply": "replies_30d", "bounce": "bounces_30d"}[kind]
            setattr(stats, field, int(count))
        for account_id, zone in zones.items():
            start = _start_of_today(now, _zone(zone))
            today = session.scalar(
                select(func.count()).where(
                    Event.account_id == account_id,
                    Event.type == "sent",
                    Event.created_at >= start,
                )
            )
            out.setdefault(account_id, AccountStats()).sent_today = int(today or 0)
    return out


def daily_series(
    ctx: AppContext, *, workspace_id: int, account_id: int, days: int = 14, zone: str = "UTC"
) -> list[DayCounts]:
    """Sends, replies and bounces per local day, oldest first, ``days`` days ending today."""
    tz = _zone(zone)
    today = ctx.clock.now().astimezone(tz).date()
    first = today - timedelta(days=days - 1)
    since = datetime.combine(first, time(0), tzinfo=tz)
    with ctx.sessions() as session:
        rows = session.execute(
            select(Event.type, Event.created_at).where(
                Event.workspace_id == workspace_id,
                Event.account_id == account_id,
                Event.type.in_(COUNTED),
                Event.created_at >= since,
            )
        ).all()
    counts: Counter[tuple[date, str]] = Counter()
    for kind, created in rows:
        stamp = aware(created) or created
        counts[(stamp.astimezone(tz).date(), kind)] += 1
    series = []
    for offset in range(days):
        day = first + timedelta(days=offset)
        series.append(
            DayCounts(
                day=day,
                sent=counts[(day, "sent")],
                reply=counts[(day, "reply")],
                bounce=counts[(day, "bounce")],
            )
        )
    return series


def recent_events(
    ctx: AppContext,
    *,
    workspace_id: int,
    account_id: int | None = None,
    types: tuple[str, ...] | None = None,
    limit: int = 20,
) -> list[EventRow]:
    query = select(Event).where(Event.workspace_id == workspace_id)
    if account_id is not None:
        query = query.where(Event.account_id == account_id)
    if types:
        query = query.where(Event.type.in_(types))
    query = query.order_by(Event.created_at.desc(), Event.id.desc()).limit(max(1, min(limit, 500)))
    with ctx.sessions() as session:
        return [
            EventRow(
                id=row.id,
                type=row.type,
                recipient=row.recipient,
                message_id=row.message_id,
                created_at=aware(row.created_at) or row.created_at,
                data=_data(row.data),
            )
            for row in session.scalars(query)
        ]


def _data(text: str | None) -> dict[str, Any]:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
