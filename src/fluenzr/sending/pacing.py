"""Human pacing, as pure functions over an account's settings and its sending state.

Caps are counted in the account's time zone (a "day" is the mailbox owner's day). Everything
here is a decision over values; the worker applies it to the locked ``sending_state`` row.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

MAX_BATCH = 50  # messages one claim may take for an account when no spacing is asked


@dataclass(frozen=True)
class Limits:
    daily: int
    hourly: int
    min_interval: int
    max_interval: int
    timezone: str = "UTC"
    window: Window | None = None
    warmup_start: int | None = None
    warmup_increment: int | None = None
    warmup_started_on: date | None = None


@dataclass(frozen=True)
class Window:
    """Days (0 = Monday) and hours in the account's time zone when sending is allowed.

    ``start > end`` crosses midnight (22:00–06:00): the window opens on each chosen day at
    ``start`` and closes at ``end`` the next morning.
    """

    days: frozenset[int]
    start: time
    end: time

    @classmethod
    def parse(cls, text: str | None) -> Window | None:
        if not text:
            return None
        data = json.loads(text)
        days = frozenset(int(d) for d in data.get("days", range(7)))
        start = time.fromisoformat(data.get("start", "00:00"))
        end = time.fromisoformat(data.get("end", "23:59:59"))
        return cls(days=days, start=start, end=end)

    @property
    def overnight(self) -> bool:
        return self.start > self.end

    def _open_on(self, day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
        closes_on = day + timedelta(days=1) if self.overnight else day
        return (
            datetime.combine(day, self.start, tzinfo=tz),
            datetime.combine(closes_on, self.end, tzinfo=tz),
        )

    def next_open(self, now: datetime, tz: ZoneInfo) -> datetime | None:
        """None when sending is allowed at ``now``, else when the window opens next."""
        local = now.astimezone(tz)
        for offset in range(-1, 8):  # -1: last night's window may still be open
            day = local.date() + timedelta(days=offset)
            if day.weekday() not in self.days:
                continue
            opens, closes = self._open_on(day, tz)
            if opens <= local < closes:
                return None
            if local < opens:
                return opens
        return local + timedelta(days=1)  # no allowed day: look again tomorrow


@dataclass(frozen=True)
class Counters:
    day_key: str
    day_count: int
    hour_key: str
    hour_count: int
    next_send_at: datetime | None


@dataclass(frozen=True)
class Allowance:
    allowed: int  # how many messages may start now
    wait_until: datetime | None  # when to look again if allowed == 0
    reason: str | None  # daily_cap | hourly_cap | window | spacing


def keys(now: datetime, tz: ZoneInfo) -> tuple[str, str]:
    local = now.astimezone(tz)
    return local.strftime("%Y-%m-%d"), local.strftime("%Y-%m-%dT%H")


def daily_cap(limits: Limits, today: date) -> int:
    """The daily cap, ramped up from ``warmup_start`` by ``warmup_increment`` a day."""
    if limits.warmup_start is None or limits.warmup_started_on is None:
        return limits.daily
    days = max(0, (today - limits.warmup_started_on).days)
    ramp = limits.warmup_start + days * (limits.warmup_increment or 0)
    return max(0, min(limits.daily, ramp))


def current(counters: Counters, now: datetime, tz: ZoneInfo) -> Counters:
    """Counters with the day/hour rolled over in the account's time zone."""
    day_key, hour_key = keys(now, tz)
    return Counters(
        day_key=day_key,
        day_count=counters.day_count if counters.day_key == day_key else 0,
        hour_key=hour_key,
        hour_count=counters.hour_count if counters.hour_key == hour_key else 0,
        next_send_at=counters.next_send_at,
    )


def _next_local(now: datetime, tz: ZoneInfo, *, hours: int = 0, days: int = 0) -> datetime:
    local = now.astimezone(tz)
    if days:
        start = datetime.combine(local.date() + timedelta(days=days), time(), tzinfo=tz)
        return start
    return local.replace(minute=0, second=0, microsecond=0) + timedelta(hours=hours)


def decide(limits: Limits, counters: Counters, now: datetime) -> Allowance:
    """How many messages may start now (``counters`` already rolled over by :func:`current`)."""
    tz = ZoneInfo(limits.timezone)
    if limits.window is not None:
        opens = limits.window.next_open(now, tz)
        if opens is not None:
            return Allowance(0, opens, "window")
    if counters.next_send_at is not None and counters.next_send_at > now:
        return Allowance(0, counters.next_send_at, "spacing")
    today = now.astimezone(tz).date()
    left_day = daily_cap(limits, today) - counters.day_count
    if left_day <= 0:
        return Allowance(0, _next_local(now, tz, days=1), "daily_cap")
    left_hour = limits.hourly - counters.hour_count
    if left_hour <= 0:
        return Allowance(0, _next_local(now, tz, hours=1), "hourly_cap")
    batch = MAX_BATCH if limits.max_interval <= 0 else 1
    return Allowance(min(left_day, left_hour, batch), None, None)


def spacing(limits: Limits, rng: random.Random | None = None) -> timedelta:
    """A random pause between two messages, uniform in [min_interval, max_interval] seconds."""
    low, high = limits.min_interval, max(limits.min_interval, limits.max_interval)
    if high <= 0:
        return timedelta(0)
    return timedelta(seconds=(rng or random).uniform(low, high))


def backoff(attempt: int, *, base: float = 60.0, cap: float = 3600.0) -> timedelta:
    """Exponential backoff with full jitter: attempt 1 → up to ``base``, doubling to ``cap``."""
    ceiling = min(cap, base * (2 ** max(0, attempt - 1)))
    return timedelta(seconds=random.uniform(ceiling / 2, ceiling))
