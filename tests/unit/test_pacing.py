"""Pacing decisions: caps in the account's time zone, spacing, sending window, warm-up ramp."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from fluenzr.sending import pacing
from fluenzr.sending.pacing import Counters, Limits, Window

MADRID = ZoneInfo("Europe/Madrid")


def _limits(**changes: object) -> Limits:
    base: dict[str, object] = {
        "daily": 50,
        "hourly": 10,
        "min_interval": 60,
        "max_interval": 180,
        "timezone": "Europe/Madrid",
    }
    base.update(changes)
    return Limits(**base)  # type: ignore[arg-type]


def _counters(
    now: datetime, *, day: int = 0, hour: int = 0, next_at: datetime | None = None
) -> Counters:
    day_key, hour_key = pacing.keys(now, MADRID)
    return Counters(day_key, day, hour_key, hour, next_at)


NOW = datetime(2026, 3, 2, 10, 30, tzinfo=UTC)  # a Monday, 11:30 in Madrid


def test_one_at_a_time_when_spaced() -> None:
    decision = pacing.decide(_limits(), _counters(NOW), NOW)
    assert (decision.allowed, decision.reason) == (1, None)


def test_batch_when_no_spacing_but_never_past_the_cap() -> None:
    limits = _limits(min_interval=0, max_interval=0, daily=50, hourly=1000)
    assert pacing.decide(limits, _counters(NOW, day=45), NOW).allowed == 5
    assert pacing.decide(limits, _counters(NOW), NOW).allowed == pacing.MAX_BATCH


def test_daily_cap_waits_for_local_midnight() -> None:
    decision = pacing.decide(_limits(), _counters(NOW, day=50), NOW)
    assert (decision.allowed, decision.reason) == (0, "daily_cap")
    assert decision.wait_until == datetime(2026, 3, 3, 0, 0, tzinfo=MADRID)


def test_hourly_cap_waits_for_next_local_hour() -> None:
    decision = pacing.decide(_limits(), _counters(NOW, day=12, hour=10), NOW)
    assert decision.reason == "hourly_cap"
    assert decision.wait_until == datetime(2026, 3, 2, 12, 0, tzinfo=MADRID)


def test_day_rolls_over_in_the_account_time_zone() -> None:
    before = datetime(2026, 3, 2, 22, 59, tzinfo=UTC)  # 23:59 in Madrid
    after = before + timedelta(minutes=2)  # 00:01 next day in Madrid, still 2 March in UTC
    rolled = pacing.current(_counters(before, day=50, hour=3), after, MADRID)
    assert (rolled.day_count, rolled.hour_count) == (0, 0)
    assert rolled.day_key == "2026-03-03"


def test_spacing_waits_until_next_send() -> None:
    later = NOW + timedelta(seconds=90)
    decision = pacing.decide(_limits(), _counters(NOW, next_at=later), NOW)
    assert (decision.allowed, decision.reason, decision.wait_until) == (0, "spacing", later)


def test_spacing_is_random_within_bounds() -> None:
    rng = random.Random(1)
    gaps = [pacing.spacing(_limits(), rng).total_seconds() for _ in range(200)]
    assert min(gaps) >= 60 and max(gaps) <= 180 and len(set(gaps)) > 150
    assert pacing.spacing(_limits(min_interval=0, max_interval=0)) == timedelta(0)


def test_window_closed_waits_for_opening() -> None:
    window = Window(days=frozenset({0, 1, 2, 3, 4}), start=time(9), end=time(18))
    limits = _limits(window=window)
    saturday = datetime(2026, 3, 7, 10, 0, tzinfo=UTC)
    decision = pacing.decide(limits, _counters(saturday), saturday)
    assert decision.reason == "window"
    assert decision.wait_until == datetime(2026, 3, 9, 9, 0, tzinfo=MADRID)
    evening = datetime(2026, 3, 2, 18, 30, tzinfo=UTC)  # 19:30 Madrid, Monday
    assert pacing.decide(limits, _counters(evening), evening).wait_until == datetime(
        2026, 3, 3, 9, 0, tzinfo=MADRID
    )
    assert pacing.decide(limits, _counters(NOW), NOW).allowed == 1


def test_window_parse() -> None:
    window = Window.parse('{"days": [0, 2], "start": "08:30", "end": "17:00"}')
    assert window == Window(frozenset({0, 2}), time(8, 30), time(17))
    assert Window.parse(None) is None


def test_warmup_ramp() -> None:
    limits = _limits(
        daily=50, warmup_start=5, warmup_increment=3, warmup_started_on=date(2026, 3, 1)
    )
    assert pacing.daily_cap(limits, date(2026, 3, 1)) == 5
    assert pacing.daily_cap(limits, date(2026, 3, 4)) == 14
    assert pacing.daily_cap(limits, date(2026, 5, 1)) == 50
    decision = pacing.decide(limits, _counters(NOW, day=8), NOW)  # 2 March: cap 8
    assert decision.reason == "daily_cap"


def test_backoff_grows_with_jitter_and_is_capped() -> None:
    first = [pacing.backoff(1).total_seconds() for _ in range(50)]
    assert all(30 <= s <= 60 for s in first)
    assert all(pacing.backoff(30).total_seconds() <= 3600 for _ in range(50))
    assert pacing.backoff(4).total_seconds() >= 240


def test_window_crossing_midnight() -> None:
    """22:00–06:00 on Monday..Friday: opens each chosen evening, closes the next morning."""
    window = Window(days=frozenset({0, 1, 2, 3, 4}), start=time(22), end=time(6))
    assert window.overnight

    def at(day: int, hour: int, minute: int = 0) -> datetime:
        return datetime(2026, 3, day, hour, minute, tzinfo=MADRID)  # 2026-03-02 is a Monday

    assert window.next_open(at(2, 23), MADRID) is None  # Monday night
    assert window.next_open(at(3, 5, 59), MADRID) is None  # Tuesday early: Monday's window
    assert window.next_open(at(3, 6), MADRID) == at(3, 22)  # closed at 06:00 sharp
    assert window.next_open(at(2, 12), MADRID) == at(2, 22)
    assert window.next_open(at(7, 3), MADRID) is None  # Saturday 03:00: Friday's window
    assert window.next_open(at(7, 23), MADRID) == at(9, 22)  # Saturday night is not chosen
    assert window.next_open(at(2, 3), MADRID) == at(2, 22)  # Monday 03:00: Sunday not chosen
    limits = _limits(window=window)
    night = at(4, 1).astimezone(UTC)
    assert pacing.decide(limits, _counters(night), night).allowed == 1
    noon = at(4, 12).astimezone(UTC)
    assert pacing.decide(limits, _counters(noon), noon).wait_until == at(4, 22)


def test_window_same_day_unchanged_by_overnight_support() -> None:
    window = Window(days=frozenset({0}), start=time(9), end=time(18))
    assert not window.overnight
    monday = datetime(2026, 3, 2, 17, 59, tzinfo=MADRID)
    assert window.next_open(monday, MADRID) is None
    tuesday_early = datetime(2026, 3, 3, 3, 0, tzinfo=MADRID)
    assert window.next_open(tuesday_early, MADRID) == datetime(2026, 3, 9, 9, 0, tzinfo=MADRID)
