"""The sending system's composition root: sending, detection and jobs, wired to their callables.

The domain packages never import services; what they need from here (opening an account's
credentials) they receive as a callable built below. ``fluenzr worker`` and ``fluenzr serve``
run :func:`run_worker`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

from fluenzr.core.endpoints import MailboxCredentials, OpenCredentials
from fluenzr.detection.watcher import run_detection
from fluenzr.sending.worker import Worker, WorkerOptions
from fluenzr.services.accounts import open_credentials
from fluenzr.services.context import AppContext
from fluenzr.services.domain_checks import run_rechecks
from fluenzr.services.jobs import run_jobs
from fluenzr.services.keys import rebind
from fluenzr.services.notifications import run_notifier
from fluenzr.services.oauth_keepalive import run_keepalive
from fluenzr.services.worker_health import keep_heartbeat
from fluenzr.storage.heartbeats import DETECT, SEND, new_worker_id


def credentials_opener(ctx: AppContext) -> OpenCredentials:
    """``open_credentials`` bound to this context: the one the sending system hands down."""

    def opener(account_id: int, /, *, renew: bool = False) -> MailboxCredentials:
        return open_credentials(ctx, account_id=account_id, renew=renew)

    return opener


def sending_worker(ctx: AppContext, options: WorkerOptions | None = None) -> Worker:
    return Worker(ctx, options, open_credentials=credentials_opener(ctx))


async def run_worker(
    ctx: AppContext,
    *,
    only: str = "all",
    until_idle: bool = False,
    stop: asyncio.Event | None = None,
    options: WorkerOptions | None = None,
) -> None:
    """The sending system: outbox (``send``), reply detection (``detect``), jobs (always).

    Passwords stored before endpoint binding are bound to their endpoint first, before anything
    here can use one (``fluenzr keys rebind`` does the same by hand).
    """
    stop = stop or asyncio.Event()
    await asyncio.to_thread(rebind, ctx)
    # One id per process: its heartbeat row, its outbox leases and its mailbox leases.
    options = options or WorkerOptions(worker_id=new_worker_id())
    runners: list[Coroutine[Any, Any, None]] = []
    if only in ("send", "all"):
        runners.append(sending_worker(ctx, options).run(until_idle=until_idle, stop=stop))
    if only in ("detect", "all"):
        runners.append(
            run_detection(
                ctx,
                open_credentials=credentials_opener(ctx),
                stop=stop,
                until_idle=until_idle,
                owner=options.worker_id,
            )
        )
    if not until_idle:
        roles = {"send": [SEND], "detect": [DETECT]}.get(only, [SEND, DETECT])
        runners.append(keep_heartbeat(ctx, worker_id=options.worker_id, roles=roles, stop=stop))
    runners.append(run_jobs(ctx, stop=stop, until_idle=until_idle))
    if only == "all" and not until_idle:
        runners.append(run_rechecks(ctx, stop=stop))  # deliverability, daily (setting)
    if only in ("send", "all"):
        runners.append(run_keepalive(ctx, stop=stop, until_idle=until_idle))
    if only in ("send", "all"):
        # Notification emails go into the outbox, so they belong with sending.
        runners.append(run_notifier(ctx, stop=stop, until_idle=until_idle))
    await asyncio.gather(*runners)
