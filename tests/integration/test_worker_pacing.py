"""Pacing through the real worker on both databases: caps by local day, spacing, window, warm-up."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from fluenzr.sending.worker import WorkerOptions
from fluenzr.services import account_status
from fluenzr.services.context import AppContext
from fluenzr.services.runtime import sending_worker
from tests.integration.send_support import FakeClock, add_account, enqueue, statuses
from tests.support.fault_smtp import RawServer

MONDAY_10_MADRID = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
async def server() -> AsyncIterator[RawServer]:
    fault = await RawServer().start()
    yield fault
    await fault.stop()


async def _run(ctx: AppContext) -> None:
    await sending_worker(ctx, WorkerOptions(poll=0.02)).run(until_idle=True)


def _setup(ctx: AppContext, server: RawServer, count: int, **limits: object) -> FakeClock:
    clock = FakeClock(MONDAY_10_MADRID)
    ctx.clock = clock
    account_id = add_account(
        ctx, email="ana@example.com", password="pw", port=server.port, security="none",
        timezone="Europe/Madrid", **limits,
    )  # fmt: skip
    for n in range(count):
        enqueue(ctx, account_id, f"r{n}@example.org")
    return clock


async def test_daily_cap_by_local_day(app_any_db: AppContext, server: RawServer) -> None:
    clock = _setup(app_any_db, server, 5, daily_limit=3, hourly_limit=3)
    await _run(app_any_db)
    assert statuses(app_any_db) == {"sent": 3, "queued": 2}
    clock.current = datetime(2026, 3, 2, 22, 59, tzinfo=UTC)  # 23:59 in Madrid: same day
    await _run(app_any_db)
    assert statuses(app_any_db) == {"sent": 3, "queued": 2}
    clock.advance(minutes=2)  # 00:01 in Madrid (still 2 March in UTC)
    await _run(app_any_db)
    assert statuses(app_any_db) == {"sent": 5}
    assert len(server.delivered) == 5


async def test_hourly_cap_and_spacing(app_any_db: AppContext, server: RawServer) -> None:
    clock = _setup(app_any_db, server, 4, hourly_limit=2, min_interval=60, max_interval=120)
    await _run(app_any_db)
    assert statuses(app_any_db) == {"sent": 1, "queued": 3}  # then it waits 60–120 s
    clock.advance(seconds=121)
    await _run(app_any_db)
    assert statuses(app_any_db) == {"sent": 2, "queued": 2}
    clock.advance(seconds=121)
    await _run(app_any_db)
    assert statuses(app_any_db) == {"sent": 2, "queued": 2}  # hourly cap of 2
    clock.advance(hours=1)
    await _run(app_any_db)
    assert statuses(app_any_db)["sent"] == 3


async def test_window_and_warmup(app_any_db: AppContext, server: RawServer) -> None:
    clock = _setup(app_any_db, server, 6, daily_limit=50, hourly_limit=50)
    clock.current = datetime(2026, 3, 7, 10, 0, tzinfo=UTC)  # Saturday
    window = account_status.window_json("mon-fri", "09:00", "18:00")
    account_status.set_pacing(
        app_any_db, workspace_id=1, account_id=1, window=window, warmup_start=2,
        warmup_increment=1,
    )  # fmt: skip
    await _run(app_any_db)
    assert statuses(app_any_db) == {"queued": 6}  # weekend: the window is closed
    clock.current = datetime(2026, 3, 9, 8, 30, tzinfo=UTC)  # Monday 09:30 Madrid
    await _run(app_any_db)
    assert statuses(app_any_db) == {"sent": 4, "queued": 2}  # warm-up from Saturday: 2 + 2×1
    clock.advance(days=1)
    await _run(app_any_db)
    assert statuses(app_any_db) == {"sent": 6}
