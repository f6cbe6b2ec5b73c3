"""Bulk Probar: test many accounts as one job, with a row per account as each one ends.

:func:`start_bulk_probar` writes one ``bulk_probar`` job (the ``jobs`` table); the sending system
(``fluenzr worker`` / ``fluenzr serve``) claims it like any Probar and runs
:func:`fluenzr.services.bulk_probar_run.run_bulk_job`: every account's Probar, bounded overall
and per server host, each row appended to the job's ``steps`` as it ends. The CLI runs the same
code in-process (:func:`fluenzr.services.bulk_probar_run.probe_all`).

Limits: a bulk run counts as **one** request against the workspace's Probar rate limit
(``probar_rate_limit``), holds at most ``bulk_probar_max_accounts`` accounts, and a workspace has
at most one bulk run pending or running at a time.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from fluenzr.error_codes import ErrorCode
from fluenzr.errors import ConflictError, NotFoundError, ValidationError
from fluenzr.services import jobs
from fluenzr.services.bulk_probar_run import KIND, PENDING, summary
from fluenzr.services.context import AppContext
from fluenzr.services.job_rows import new_job
from fluenzr.storage.base import aware
from fluenzr.storage.engine import transaction
from fluenzr.storage.models import Account, Workspace
from fluenzr.storage.models.fleet import AccountTag
from fluenzr.storage.models.users import Job

MAX_TAG = 64


class BulkRow(BaseModel):
    account_id: int
    email: str
    outcome: str  # pending | ok | throttled | failed
    code: str | None = None
    step: str | None = None
    duration_ms: int = 0


class BulkProbarView(BaseModel):
    id: int
    status: str  # pending | running | done
    send_test_mail: bool
    total: int
    done: int
    summary: dict[str, int]  # outcome → count (pending included)
    rows: list[BulkRow]
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


def select_accounts(
    ctx: AppContext,
    *,
    workspace_id: int,
    account_ids: Sequence[int] | None = None,
    all_accounts: bool = False,
    tag: str | None = None,
) -> list[int]:
    """The ids chosen by a list, by "all", or by a tag, in id order (a list keeps its order)."""
    with ctx.sessions() as session:
        if all_accounts:
            return list(
                session.scalars(
                    select(Account.id)
                    .where(Account.workspace_id == workspace_id)
                    .order_by(Account.id)
                )
            )
        if tag is not None:
            wanted = tag.strip().lower()[:MAX_TAG]
            return list(
                session.scalars(
                    select(Account.id)
                    .join(AccountTag, AccountTag.account_id == Account.id)
                    .where(Account.workspace_id == workspace_id, AccountTag.tag == wanted)
                    .order_by(Account.id)
                )
            )
    return list(dict.fromkeys(account_ids or []))


def _check(session: Session, *, workspace_id: int, account_ids: Sequence[int]) -> None:
    known = set(
        session.scalars(
            select(Account.id).where(
                Account.workspace_id == workspace_id, Account.id.in_(list(account_ids))
            )
        )
    )
    missing = next((i for i in account_ids if i not in known), None)
    if missing is not None:
        raise NotFoundError(ErrorCode.ACCOUNT_NOT_FOUND, params={"id": missing})


def check_accounts(ctx: AppContext, *, workspace_id: int, account_ids: Sequence[int]) -> None:
    """NotFoundError naming the first of ``account_ids`` that is not an account of the workspace."""
    with ctx.sessions() as session:
        _check(session, workspace_id=workspace_id, account_ids=account_ids)


def start_bulk_probar(
    ctx: AppContext,
    *,
    workspace_id: int,
    account_ids: list[int],
    send_test_mail: bool = True,
    requested_by: int | None = None,
) -> jobs.JobView:
    """Queue one bulk Probar of ``account_ids`` (all of ``workspace_id``, else NotFoundError)."""
    chosen = list(dict.fromkeys(account_ids))
    if not chosen:
        raise ValidationError(ErrorCode.BULK_PROBAR_EMPTY, params={"field": "account_ids"})
    limit = ctx.settings.bulk_probar_max_accounts
    if len(chosen) > limit:
        raise ValidationError(
            ErrorCode.BULK_PROBAR_TOO_MANY,
            params={"field": "account_ids", "limit": limit, "count": len(chosen)},
        )
    with transaction(ctx.sessions) as session:
        # One start at a time per workspace (PostgreSQL; SQLite serialises writers anyway).
        session.get(Workspace, workspace_id, with_for_update=True)
        _check(session, workspace_id=workspace_id, account_ids=chosen)
        running = session.scalar(
            select(Job.id).where(
                Job.workspace_id == workspace_id, Job.kind == KIND, Job.status != "done"
            )
        )
        if running is not None:
            raise ConflictError(ErrorCode.BULK_PROBAR_RUNNING, params={"id": running})
        jobs.check_probar_rate(ctx, session, workspace_id=workspace_id)
        options: dict[str, Any] = {
            "account_ids": chosen,
            "send_test_mail": send_test_mail,
            "requested_by": requested_by,
        }
        job = new_job(workspace_id=workspace_id, kind=KIND, options=options, now=ctx.clock.now())
        session.add(job)
        session.flush()
        job_id = job.id
    return jobs.get_job(ctx, workspace_id=workspace_id, job_id=job_id)


def running_bulk_probar(ctx: AppContext, *, workspace_id: int) -> int | None:
    """The id of the workspace's bulk Probar pending or running, if any."""
    with ctx.sessions() as session:
        return session.scalar(
            select(Job.id).where(
                Job.workspace_id == workspace_id, Job.kind == KIND, Job.status != "done"
            )
        )


def get_bulk_probar(ctx: AppContext, workspace_id: int, job_id: int) -> BulkProbarView:
    """The job with one row per account (``pending`` until it ends) and counts by outcome."""
    with ctx.sessions() as session:
        job = session.get(Job, job_id)
        if job is None or job.workspace_id != workspace_id or job.kind != KIND:
            raise NotFoundError(ErrorCode.JOB_NOT_FOUND, params={"id": job_id})
        options = json.loads(job.options or "{}")
        wanted = [int(i) for i in options.get("account_ids", [])]
        finished = {int(r["account_id"]): r for r in json.loads(job.steps or "[]")}
        waiting = [i for i in wanted if i not in finished]
        emails: dict[int, str] = {
            account_id: email
            for account_id, email in session.execute(
                select(Account.id, Account.email).where(
                    Account.workspace_id == workspace_id, Account.id.in_(waiting)
                )
            )
        }
        rows: list[BulkRow] = []
        for account_id in wanted:
            if account_id in finished:
                rows.append(BulkRow.model_validate(finished[account_id]))
            elif account_id in emails:  # an account removed meanwhile is no longer listed
                rows.append(
                    BulkRow(account_id=account_id, email=emails[account_id], outcome=PENDING)
                )
        return BulkProbarView(
            id=job.id,
            status=job.status,
            send_test_mail=bool(options.get("send_test_mail", True)),
            total=len(rows),
            done=sum(1 for row in rows if row.outcome != PENDING),
            summary=summary(row.outcome for row in rows),
            rows=rows,
            created_at=aware(job.created_at) or job.created_at,
            started_at=aware(job.started_at),
            finished_at=aware(job.finished_at),
        )


__all__ = [
    "KIND",
    "BulkProbarView",
    "BulkRow",
    "check_accounts",
    "get_bulk_probar",
    "running_bulk_probar",
    "select_accounts",
    "start_bulk_probar",
]
