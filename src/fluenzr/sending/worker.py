"""The worker: claims due messages, sends them per account, copies them to Sent, recovers.

``services.runtime.run_worker`` (what ``fluenzr worker`` and ``fluenzr serve`` run) builds one
with the credentials opener and runs it beside detection and jobs. Stopping (SIGTERM, or
``stop`` set) lets each account finish the SMTP transaction in progress, gives its other claimed
messages back to the queue, then returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from fluenzr.core.endpoints import OpenCredentials
from fluenzr.sending import leases, recovery
from fluenzr.sending.connections import Connections
from fluenzr.sending.sender import BatchSender
from fluenzr.sending.sent_copy import SentCopier
from fluenzr.sending.writer import StateWriter
from fluenzr.storage.engine import transaction
from fluenzr.storage.runtime import Runtime

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
    def __init__(
        self,
        ctx: Runtime,
        options: WorkerOptions | None = None,
        *,
        open_credentials: OpenCredentials,
    ) -> None:
        self.ctx = ctx
        self.options = options or WorkerOptions()
        timeout = ctx.settings.smtp_timeout
        self.lease = self.options.lease or timedelta(seconds=max(120.0, timeout * 8))
        self.connections = Connections(ctx, open_credentials=open_credentials)
        self.writer = StateWriter(ctx, lease=self.lease, worker_id=self.options.worker_id)
        self.copier = SentCopier(
            ctx,
            worker_id=self.options.worker_id,
            lease=self.lease,
            open_credentials=open_credentials,
        )
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
