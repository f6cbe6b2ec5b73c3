"""Jobs: the web role asks, the sending system runs (Probar), results flow back through the table.

The web role cannot open credentials (it holds only the vault's public key), so "Probar" is
written as a ``pending`` row; the sending system (``fluenzr worker`` or the all-in-one
``fluenzr serve``) claims it with a lease, runs :mod:`fluenzr.services.account_probar` and writes
each step to the row as soon as it ends, so a page polling the job sees steps appear live.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from fluenzr.error_codes import ErrorCode
from fluenzr.errors import FluenzrError, NotFoundError, RateLimitedError
from fluenzr.services import account_probar, bulk_probar_run, draft_probar
from fluenzr.services.context import AppContext
from fluenzr.services.job_rows import new_job
from fluenzr.storage.base import aware
from fluenzr.storage.engine import transaction
from fluenzr.storage.models import Account
from fluenzr.storage.models.users import Job

log = logging.getLogger(__name__)
LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 3
POLL_SECONDS = 0.5
PROBAR_RATE_WINDOW = timedelta(minutes=1)


class JobView(BaseModel):
    id: int
    account_id: int | None
    kind: str
    status: str  # pending | running | done
    ok: bool | None
    steps: list[dict[str, Any]]
    result: dict[str, Any] | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


def _view(job: Job) -> JobView:
    result = json.loads(job.result) if job.result else None
    return JobView(
        id=job.id,
        account_id=job.account_id,
        kind=job.kind,
        status=job.status,
        ok=bool(result.get("ok")) if result is not None else None,
        steps=json.loads(job.steps or "[]"),
        result=result,
        created_at=aware(job.created_at) or job.created_at,
        started_at=aware(job.started_at),
        finished_at=aware(job.finished_at),
    )


def enqueue_probar(
    ctx: AppContext, *, workspace_id: int, account_id: int, send_test_mail: bool = True
) -> JobView:
    """Queue a Probar run for an account the caller can see (else NotFoundError).

    At most ``settings.probar_rate_limit`` runs per workspace per minute: each run connects to
    servers a member chose, so a workspace cannot turn the worker into a port scanner. While a
    run of the account is pending or running, that run is returned: no second test starts."""
    with transaction(ctx.sessions) as session:
        account = session.get(Account, account_id)
        if account is None or account.workspace_id != workspace_id:
            raise NotFoundError(ErrorCode.ACCOUNT_NOT_FOUND, params={"id": account_id})
        running = session.scalar(
            select(Job).where(
                Job.account_id == account_id, Job.kind == "probar", Job.status != "done"
            )
        )
        if running is not None:  # a double click (or a second tab) joins the run under way
            return _view(running)
        check_probar_rate(ctx, session, workspace_id=workspace_id)
        job = new_job(
            workspace_id=workspace_id,
            account_id=account_id,
            kind="probar",
            options={"send_test_mail": send_test_mail},
            now=ctx.clock.now(),
        )
        session.add(job)
        session.flush()
        return _view(job)


def check_probar_rate(ctx: AppContext, session: Session, *, workspace_id: int) -> None:
    now = ctx.clock.now()
    since = now - PROBAR_RATE_WINDOW
    recent = session.scalars(
        select(Job.created_at)
        .where(
            Job.workspace_id == workspace_id,
            # A bulk Probar is one request here; its own bounds are in services.bulk_probar.
            Job.kind.in_(("probar", bulk_probar_run.KIND)),
            Job.created_at > since,
        )
        .order_by(Job.created_at)
    ).all()
    limit = ctx.settings.probar_rate_limit
    if len(recent) >= limit:
        oldest = aware(recent[-limit]) or now
        wait = max(1, int((oldest + PROBAR_RATE_WINDOW - now).total_seconds()) + 1)
        raise RateLimitedError(
            ErrorCode.PROBAR_RATE_LIMITED, params={"limit": limit, "retry_after": wait}
        )


def get_job(ctx: AppContext, *, workspace_id: int, job_id: int) -> JobView:
    with ctx.sessions() as session:
        job = session.get(Job, job_id)
        if job is None or job.workspace_id != workspace_id:
            raise NotFoundError(ErrorCode.JOB_NOT_FOUND, params={"id": job_id})
        return _view(job)


def latest_job(ctx: AppContext, *, workspace_id: int, account_id: int) -> JobView | None:
    with ctx.sessions() as session:
        job = session.scalar(
            select(Job)
            .where(Job.workspace_id == workspace_id, Job.account_id == account_id)
            .order_by(Job.id.desc())
            .limit(1)
        )
        return _view(job) if job else None


def claim_next(ctx: AppContext, *, worker: str) -> int | None:
    """Take the oldest pending job (or one whose lease ran out); atomic across processes."""
    now = ctx.clock.now()
    with transaction(ctx.sessions) as session:
        candidates = session.scalars(
            select(Job.id)
            .where(
                or_(
                    Job.status == "pending",
                    (Job.status == "running") & (Job.locked_until < now),
                )
            )
            .order_by(Job.id)
            .limit(5)
        ).all()
        for job_id in candidates:
            # Conditional update: only one process wins a given row, on SQLite and PostgreSQL.
            claimed = session.execute(
                update(Job)
                .where(
                    Job.id == job_id,
                    or_(
                        Job.status == "pending",
                        (Job.status == "running") & (Job.locked_until < now),
                    ),
                )
                .values(
                    status="running",
                    locked_by=worker,
                    locked_until=now + LEASE,
                    started_at=now,
                    attempts=Job.attempts + 1,
                    steps="[]",
                )
            )
            if getattr(claimed, "rowcount", 0) == 1:
                return job_id
    return None


def _append_step(ctx: AppContext, job_id: int, step: dict[str, Any]) -> None:
    with transaction(ctx.sessions) as session:
        job = session.get(Job, job_id)
        if job is None:
            return
        steps = json.loads(job.steps or "[]")
        steps.append(step)
        job.steps = json.dumps(steps, ensure_ascii=False, default=str)
        job.locked_until = ctx.clock.now() + LEASE


def _finish(ctx: AppContext, job_id: int, result: dict[str, Any]) -> None:
    with transaction(ctx.sessions) as session:
        job = session.get(Job, job_id)
        if job is None:
            return
        if result.get("steps"):
            job.steps = json.dumps(result["steps"], ensure_ascii=False, default=str)
        job.result = json.dumps(result, ensure_ascii=False, default=str)
        job.status = "done"
        job.finished_at = ctx.clock.now()
        job.locked_by = None
        job.locked_until = None


def _plain(value: Any) -> dict[str, Any]:
    """A step or report (``to_dict()``, pydantic model, dataclass or dict) as a JSON dict."""
    if hasattr(value, "to_dict"):
        value = value.to_dict()
    if hasattr(value, "model_dump"):
        dumped: dict[str, Any] = value.model_dump(mode="json")
        return dumped
    if hasattr(value, "__dataclass_fields__"):
        converted: dict[str, Any] = json.loads(json.dumps(asdict(value), default=str))
        return converted
    if isinstance(value, dict):
        plain: dict[str, Any] = json.loads(json.dumps(value, default=str))
        return plain
    return {"detail": str(value)}


def _error_result(error: FluenzrError) -> dict[str, Any]:
    # Stored in English; pages re-render message and hint from the code in the reader's language.
    return {"ok": False, "steps": [], "error": error.to_dict("en")}


async def _run_probar(ctx: AppContext, job: _Claimed) -> None:
    async def on_step(step: Any) -> None:
        await asyncio.to_thread(_append_step, ctx, job.id, _plain(step))

    try:
        report: Any = await account_probar.run_probar(
            ctx,
            workspace_id=job.workspace_id,
            account_id=job.account_id,
            send_test_mail=bool(job.options.get("send_test_mail", True)),
            on_step=on_step,
        )
        result = _plain(report)
    except FluenzrError as error:
        result = _error_result(error)
    await asyncio.to_thread(_finish, ctx, job.id, result)


async def _run_draft(ctx: AppContext, job: _Claimed) -> None:
    async def on_step(step: Any) -> None:
        await asyncio.to_thread(_append_step, ctx, job.id, _plain(step))

    try:
        report = await draft_probar.run_draft(
            ctx, job_id=job.id, options=job.options, on_step=on_step
        )
        result = _plain(report)
    except FluenzrError as error:
        result = _error_result(error)
    finally:
        await asyncio.to_thread(draft_probar.wipe_options, ctx, job.id)
    await asyncio.to_thread(_finish, ctx, job.id, result)


@dataclass(frozen=True)
class _Claimed:
    id: int
    workspace_id: int
    account_id: int
    options: dict[str, Any]
    kind: str = "probar"


def _load_claimed(ctx: AppContext, job_id: int) -> _Claimed | None:
    with ctx.sessions() as session:
        job = session.get(Job, job_id)
        if job is None or job.attempts > MAX_ATTEMPTS:
            return None
        options = json.loads(job.options)
        if job.kind == draft_probar.KIND and options.get("settings"):
            return _Claimed(job.id, job.workspace_id, 0, options, job.kind)
        if job.kind == bulk_probar_run.KIND:
            return _Claimed(job.id, job.workspace_id, 0, options, job.kind)
        if job.kind != "probar" or job.account_id is None:
            return None
        return _Claimed(job.id, job.workspace_id, job.account_id, options)


async def _run_bulk(ctx: AppContext, job: _Claimed) -> None:
    try:
        await bulk_probar_run.run_bulk_job(
            ctx, job_id=job.id, workspace_id=job.workspace_id, options=job.options
        )
    except Exception:  # a bug must not leave the job running for ever
        log.exception("bulk job %s failed", job.id)
        await asyncio.to_thread(_finish, ctx, job.id, _error_result(FluenzrError()))


async def run_one(
    ctx: AppContext, *, worker: str, background: set[asyncio.Task[None]] | None = None
) -> bool:
    """Claim and run one job; False when there was nothing to do.

    With ``background``, a bulk job runs as a task added to it, so single Probar runs (a user
    waiting on a button) are not queued behind a test of 300 accounts."""
    job_id = await asyncio.to_thread(claim_next, ctx, worker=worker)
    if job_id is None:
        return False
    job = await asyncio.to_thread(_load_claimed, ctx, job_id)
    if job is None:
        await asyncio.to_thread(draft_probar.wipe_options, ctx, job_id)
        await asyncio.to_thread(
            _finish, ctx, job_id, _error_result(FluenzrError(ErrorCode.JOB_ABANDONED))
        )
        return True
    if job.kind == bulk_probar_run.KIND:
        if background is None:
            await _run_bulk(ctx, job)
        else:
            task = asyncio.create_task(_run_bulk(ctx, job))
            background.add(task)
            task.add_done_callback(background.discard)
        return True
    try:
        if job.kind == draft_probar.KIND:
            await _run_draft(ctx, job)
        else:
            await _run_probar(ctx, job)
    except Exception:  # a bug in a step must not kill the sending system's loop
        log.exception("job %s failed", job_id)
        await asyncio.to_thread(draft_probar.wipe_options, ctx, job_id)
        await asyncio.to_thread(_finish, ctx, job_id, _error_result(FluenzrError()))
    return True


async def run_jobs(
    ctx: AppContext, *, stop: asyncio.Event | None = None, until_idle: bool = False
) -> None:
    """Run jobs until ``stop`` is set (or, with ``until_idle``, until none is pending)."""
    worker = f"{socket.gethostname()}:{os.getpid()}"
    stop = stop or asyncio.Event()
    background: set[asyncio.Task[None]] = set()
    try:
        while not stop.is_set():
            did = await run_one(ctx, worker=worker, background=background)
            if did:
                continue
            if until_idle:
                if not background:
                    return
                await asyncio.wait(set(background))  # then look for more work
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=POLL_SECONDS)
    finally:
        # Stopping: a bulk job still running is left to its lease (another worker retakes it).
        for task in list(background):
            task.cancel()
        if background:
            await asyncio.gather(*background, return_exceptions=True)
