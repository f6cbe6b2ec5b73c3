"""Worker health: each worker process's heartbeat, and what the Workers page and API show.

``run_worker`` keeps this process's ``worker_heartbeats`` row fresh (:func:`keep_heartbeat`);
:func:`list_workers` reads every row with the mailboxes each worker owns right now (live
leases). A worker is *alive* while its heartbeat is younger than the mailbox lease timeout,
*stale* after (killed, hung or cut off: its mailboxes are taken over), *stopped* after a clean
exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel
from sqlalchemy import func, select

from fluenzr.detection.config import from_settings
from fluenzr.services.context import AppContext
from fluenzr.storage import heartbeats
from fluenzr.storage.base import aware
from fluenzr.storage.engine import transaction
from fluenzr.storage.models import Account
from fluenzr.storage.models.fleet import MailboxLease, WorkerHeartbeat
from fluenzr.storage.runtime import Runtime

log = logging.getLogger(__name__)
WorkerStatus = Literal["alive", "stale", "stopped"]
MAX_LISTED = 100  # mailbox addresses listed per worker (the count is always exact)
MAX_WORKERS = 200  # most recent rows shown


class WorkerView(BaseModel):
    id: str
    hostname: str
    pid: int
    roles: list[str]
    status: WorkerStatus
    started_at: datetime
    heartbeat_at: datetime
    stopped_at: datetime | None
    mailboxes: int  # IMAP mailboxes this worker watches now (all workspaces)
    mailbox_emails: list[str]  # of those, the ones in the caller's workspace (at most 100)


def lease_timeout(ctx: Runtime) -> timedelta:
    """How long a heartbeat stays fresh: a worker silent for longer is stale (its leases lapse)."""
    return timedelta(seconds=from_settings(ctx.settings).lease_ttl)


def heartbeat_every(ctx: AppContext) -> float:
    """A quarter of the lease timeout: three missed beats before a worker counts as gone."""
    return from_settings(ctx.settings).lease_ttl / 4


def _beat(ctx: AppContext, worker_id: str, roles: Collection[str]) -> None:
    with transaction(ctx.sessions) as session:
        heartbeats.beat(session, worker_id=worker_id, roles=roles, now=ctx.clock.now())


async def keep_heartbeat(
    ctx: AppContext, *, worker_id: str, roles: Collection[str], stop: asyncio.Event
) -> None:
    """Write this worker's row now, refresh it until ``stop``, then mark it stopped."""
    _beat(ctx, worker_id, roles)
    try:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=heartbeat_every(ctx))
            if not stop.is_set():
                try:
                    _beat(ctx, worker_id, roles)
                except Exception:  # a database hiccup: the next beat may succeed
                    log.warning("worker heartbeat failed", exc_info=True)
    finally:
        with contextlib.suppress(Exception), transaction(ctx.sessions) as session:
            heartbeats.stopped(session, worker_id=worker_id, now=ctx.clock.now())


def _status(row: WorkerHeartbeat, *, now: datetime, timeout: timedelta) -> WorkerStatus:
    if row.stopped_at is not None:
        return "stopped"
    beat = aware(row.heartbeat_at) or now
    return "alive" if beat > now - timeout else "stale"


def list_workers(ctx: AppContext, *, workspace_id: int) -> list[WorkerView]:
    now = ctx.clock.now()
    timeout = lease_timeout(ctx)
    with ctx.sessions() as session:
        rows = list(
            session.scalars(
                select(WorkerHeartbeat)
                .order_by(WorkerHeartbeat.heartbeat_at.desc())
                .limit(MAX_WORKERS)
            )
        )
        live = (MailboxLease.owner.is_not(None), MailboxLease.expires_at > now)
        counts = dict(
            session.execute(
                select(MailboxLease.owner, func.count()).where(*live).group_by(MailboxLease.owner)
            ).all()
        )
        emails: dict[str, list[str]] = {}
        for owner, email in session.execute(
            select(MailboxLease.owner, Account.email)
            .join(Account, Account.id == MailboxLease.account_id)
            .where(*live, Account.workspace_id == workspace_id)
            .order_by(Account.email)
        ):
            listed = emails.setdefault(str(owner), [])
            if len(listed) < MAX_LISTED:
                listed.append(email)
    return [
        WorkerView(
            id=row.id,
            hostname=row.hostname,
            pid=row.pid,
            roles=[r for r in row.roles.split(",") if r],
            status=_status(row, now=now, timeout=timeout),
            started_at=aware(row.started_at) or row.started_at,
            heartbeat_at=aware(row.heartbeat_at) or row.heartbeat_at,
            stopped_at=aware(row.stopped_at),
            mailboxes=int(counts.get(row.id, 0)),
            mailbox_emails=emails.get(row.id, []),
        )
        for row in rows
    ]
