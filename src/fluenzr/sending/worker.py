"""The worker: claims due messages, sends them per account, copies them to Sent, recovers.

``run_worker`` is what ``fluenzr worker`` runs, and what ``fluenzr serve`` runs in-process.
Stopping (SIGTERM, or ``stop`` set) lets each account finish the SMTP transaction in progress,
gives its other claimed messages back to the queue, then returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import os
import secrets
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from fluenzr.sending import leases, recovery
from fluenzr.sending.connections import Connections
from fluenzr.sending.sender import BatchSender
from fluenzr.sending.sent_copy import SentCopier
from fluenzr.sending.writer import StateWriter
from fluenzr.services.context import AppContext
from fluenzr.storage.engine import transaction

log = logging.getLogger(__name__)
RECOVERY_EVERY = 30.0  # seconds between looks for abandoned ``sending`` rows
IDLE_CLOSE = 30.0  # seconds an unused SMTP connection stays open
COPY_EVERY = 0.5  # seconds between looks for copies to Sent (not on every wake-up)


@dataclass
class WorkerOptions:
    max_accounts: int = 100  # accounts sending at the same time in this process
    poll: float = 1.0  # longest sleep between claim rounds
    lease: timedelta | None = None
    worker_id: str = field(
        default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
    )


class Worker:
    def __init__(self, ctx: AppContext, options: WorkerOptions | None = None) -> None:
        self.ctx = ctx
        self.options = options or WorkerOptions()
        timeout = ctx.settings.smtp_timeout
        self.lease = self.options.lease or timedelta(seconds=max(120.0, timeout * 8))
        self.connections = Connections(ctx)
        self.writer = StateWriter(ctx, lease=self.lease, worker_id=self.options.worker_id)
        self.copier = SentCopier(ctx, worker_id=self.options.worker_id, lease=self.lease)
        self.tasks: dict[int, asyncio.Task[None]] = {}
        self.wakeup = asyncio.Event()

    def _claim(self) -> leases.ClaimRound:
        free = self.options.max_accounts - len(self.tasks)
        if free <= 0:
            return leases.ClaimRound([], None)
        with transaction(self.ctx.sessions) as session:
            return leases.claim(
                session,
                worker_id=self.options.worker_id,
                now=self.ctx.clock.now(),
                lease=self.lease,
                busy=set(self.tasks),
                max_accounts=free,
            )

    def _start(self, claim: leases.Claim, stop: asyncio.Event) -> None:
        sender = BatchSender(
            self.ctx,
            worker_id=self.options.worker_id,
            lease=self.lease,
            connections=self.connections,
            writer=self.writer,
        )
        task = asyncio.create_task(sender.run(claim, stop=stop))
        self.tasks[claim.account_id] = task

        def done(finished: asyncio.Task[None], account_id: int = claim.account_id) -> None:
            self.tasks.pop(account_id, None)
            self.wakeup.set()
            if not finished.cancelled() and finished.exception() is not None:
                log.error("account %s: sender crashed", account_id, exc_info=finished.exception())

        task.add_done_callback(done)

    def _sleep_for(self, next_due: datetime | None) -> float:
        if next_due is None:
            return self.options.poll
        seconds = (next_due - self.ctx.clock.now()).total_seconds()
        return max(0.01, min(self.options.poll, seconds))

    async def _recover(self) -> None:
        await recovery.recover(self.ctx, lookup=self.copier.find_in_sent)

    async def run(self, *, until_idle: bool = False, stop: asyncio.Event | None = None) -> None:
        stop = stop or asyncio.Event()
        await self._recover()
        last_recovery = last_copy = time.monotonic()
        try:
            while not stop.is_set():
                self.wakeup.clear()
                round_ = self._claim()
                for claim in round_.claims:
                    self._start(claim, stop)
                copied = 0
                if not self.tasks or time.monotonic() - last_copy > COPY_EVERY:
                    copied = await self.copier.run_due(stop=stop)
                    last_copy = time.monotonic()
                if until_idle and not self.tasks and not round_.claims and not copied:
                    break
                if time.monotonic() - last_recovery > RECOVERY_EVERY:
                    await self._recover()
                    last_recovery = time.monotonic()
                await self.connections.close_idle(older_than=IDLE_CLOSE, keep=set(self.tasks))
                if copied:
                    continue  # there may be more copies due
                # Claimed accounts are busy until their task ends (which wakes us up): no
                # point asking the database again before that or before something falls due.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wakeup.wait(), self._sleep_for(round_.next_due))
        finally:
            if self.tasks:
                await asyncio.gather(*self.tasks.values(), return_exceptions=True)
            try:
                await self.writer.flush()
            finally:
                self.writer.close()
            await self.connections.close_all()


def _optional(module: str, name: str) -> Callable[..., Awaitable[Any]] | None:
    """Another area's runner, when that area has landed (detection watcher, web jobs)."""
    try:
        found: Callable[..., Awaitable[Any]] = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return None
    return found


async def run_worker(
    ctx: AppContext,
    *,
    only: str = "all",
    until_idle: bool = False,
    stop: asyncio.Event | None = None,
    options: WorkerOptions | None = None,
) -> None:
    """The sending system: outbox (``send``), reply detection (``detect``), jobs (always)."""
    stop = stop or asyncio.Event()
    runners: list[Awaitable[Any]] = []
    if only in ("send", "all"):
        runners.append(Worker(ctx, options).run(until_idle=until_idle, stop=stop))
    detection = _optional("fluenzr.detection.watcher", "run_detection")
    if only in ("detect", "all") and detection is not None:
        runners.append(_call(detection, ctx, stop=stop, until_idle=until_idle))
    jobs = _optional("fluenzr.services.jobs", "run_jobs")
    if jobs is not None:
        runners.append(_call(jobs, ctx, stop=stop, until_idle=until_idle))
    await asyncio.gather(*runners)


async def _call(
    runner: Callable[..., Awaitable[Any]], ctx: AppContext, *, stop: asyncio.Event, until_idle: bool
) -> None:
    import inspect

    accepts = inspect.signature(runner).parameters
    kwargs: dict[str, Any] = {"stop": stop}
    if "until_idle" in accepts:
        kwargs["until_idle"] = until_idle
    elif until_idle:
        return  # a runner that cannot stop when idle would never let --until-idle end
    await runner(ctx, **kwargs)
