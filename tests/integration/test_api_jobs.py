"""The jobs table behind "Probar": one claimant per job, expired leases taken over, bounded
retries — on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from fluenzr.core.secret import Secret
from fluenzr.services import accounts, jobs
from fluenzr.services.account_config import AccountInput
from fluenzr.services.context import AppContext, default_workspace_id


@dataclass
class ManualClock:
    at: datetime

    def now(self) -> datetime:
        return self.at


def _account(ctx: AppContext) -> tuple[int, int]:
    workspace = default_workspace_id(ctx.sessions)
    view = accounts.create_account(
        ctx,
        workspace_id=workspace,
        data=AccountInput(
            email="a@example.com", smtp_host="smtp.example.com", password=Secret("p" * 12)
        ),
    )
    return workspace, view.id


def test_leases_and_abandonment(app_any_db: AppContext) -> None:
    clock = ManualClock(datetime(2026, 1, 5, 9, 0, tzinfo=UTC))
    app_any_db.clock = clock  # type: ignore[assignment]
    workspace, account_id = _account(app_any_db)
    job = jobs.enqueue_probar(app_any_db, workspace_id=workspace, account_id=account_id)

    assert jobs.claim_next(app_any_db, worker="a") == job.id
    assert jobs.claim_next(app_any_db, worker="b") is None  # leased to a
    assert jobs.get_job(app_any_db, workspace_id=workspace, job_id=job.id).status == "running"

    for _ in range(jobs.MAX_ATTEMPTS):  # a worker dies every time: its lease runs out
        clock.at += jobs.LEASE + timedelta(seconds=1)
        assert jobs.claim_next(app_any_db, worker="b") == job.id
    clock.at += jobs.LEASE + timedelta(seconds=1)
    assert asyncio.run(jobs.run_one(app_any_db, worker="c")) is True
    done = jobs.get_job(app_any_db, workspace_id=workspace, job_id=job.id)
    assert done.status == "done" and done.ok is False
    assert done.result is not None and done.result["error"]["code"] == "job_abandoned"
    assert asyncio.run(jobs.run_one(app_any_db, worker="c")) is False
