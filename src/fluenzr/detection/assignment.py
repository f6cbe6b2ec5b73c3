"""This worker's share of the IMAP mailboxes: acquire, renew, rebalance, release — no coordinator.

Every ``lease_ttl / 3`` seconds (a *tick*) the worker:

1. renews the leases it holds; a mailbox it no longer owns (taken over while this process was
   stalled) has its watcher stopped at once — the lease fence already refuses its commits;
2. counts the live detection workers (fresh rows in ``worker_heartbeats``) and computes its fair
   share, ``ceil(mailboxes / live workers)`` or one less (:func:`ownership.share_of`);
3. above its share (a worker joined), stops the watchers of the excess mailboxes, *then*
   releases their leases, so the next owner can only start after this one has logged out;
4. below its share (a worker left, or mailboxes were added), acquires free, released or expired
   leases — an expired one is a takeover — and starts a watcher for each.

A clean stop releases every lease after the watchers have logged out. A killed worker's leases
expire ``lease_ttl`` after its last renewal; its heartbeat goes stale at the same time, the
others' shares grow and they take its mailboxes over. Renewal also keeps a local deadline: if
the database cannot be reached for most of a lease's life, the watchers stop on their own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy.orm import Session

from fluenzr.detection import ownership
from fluenzr.detection.config import DetectionConfig
from fluenzr.storage import heartbeats
from fluenzr.storage.engine import transaction
from fluenzr.storage.runtime import Runtime

log = logging.getLogger(__name__)
# Start a watcher: (account id, its own stop event, its lease fence) -> the running task.
StartWatcher = Callable[[int, asyncio.Event, ownership.Fence], "asyncio.Task[None]"]
STOP_GRACE = 5.0  # seconds a watcher may take to log out before it is cancelled


class Assignment:
    def __init__(
        self,
        ctx: Runtime,
        *,
        owner: str,
        config: DetectionConfig,
        start: StartWatcher,
        mailboxes: Callable[[], list[int]],
    ) -> None:
        self.ctx = ctx
        self.owner = owner
        self.config = config
        self.ttl = timedelta(seconds=config.lease_ttl)
        self._start = start
        self._mailboxes = mailboxes
        self.tasks: dict[int, asyncio.Task[None]] = {}
        self.stops: dict[int, asyncio.Event] = {}
        self.valid_until = 0.0  # monotonic: past it, every watcher stops (renewals failing)
        self.ticked = asyncio.Event()  # set after each tick (tests, benchmarks)
        self._rng = random.Random(owner)

    @property
    def tick_every(self) -> float:
        return self.config.lease_ttl / 3

    def fence_for(self, account_id: int) -> ownership.Fence:
        def check(session: Session) -> None:
            ownership.fence(
                session,
                account_id=account_id,
                owner=self.owner,
                now=self.ctx.clock.now(),
            )

        return check

    async def run(self, stop: asyncio.Event) -> None:
        try:
            while not stop.is_set():
                try:
                    await self.tick()
                except Exception:  # a database hiccup: keep going, the deadline protects
                    log.exception("mailbox leases: tick failed")
                    if time.monotonic() > self.valid_until:
                        await self.stop_watchers(set(self.tasks))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=self.tick_every)
        finally:
            await self.shutdown()

    async def tick(self) -> None:
        now = self.ctx.clock.now()
        started = time.monotonic()
        wanted = set(self._mailboxes())
        with transaction(self.ctx.sessions) as session:
            held = ownership.renew(
                session, owner=self.owner, account_ids=set(self.tasks), now=now, ttl=self.ttl
            )
        self.valid_until = started + self.config.lease_ttl * 0.8
        lost = set(self.tasks) - held
        if lost:
            log.warning("mailbox leases: %d taken over by another worker", len(lost))
            await self.stop_watchers(lost, grace=0.0)
        gone = held - wanted
        await self._give_back(gone)
        held -= gone
        for account_id in sorted(held):  # a watcher that ended (lease blip) while still owned
            if self.tasks[account_id].done():
                self._launch(account_id)
        with self.ctx.sessions() as session:
            live = heartbeats.live_ids(
                session, now=now, stale_after=self.ttl, role=heartbeats.DETECT
            )
        share = ownership.share_of(self.owner, mailboxes=len(wanted), live=live)
        if len(held) > share:
            await self._give_back(set(sorted(held)[share:]))
        elif len(held) < share:
            await self._take(sorted(wanted - held), share - len(held))
        self.ticked.set()

    async def _take(self, candidates: list[int], room: int) -> None:
        now = self.ctx.clock.now()
        with self.ctx.sessions() as session:
            free = ownership.free(session, candidates=candidates, now=now)
        # Workers starting together should not all race for the same rows first.
        self._rng.shuffle(free)
        with transaction(self.ctx.sessions) as session:
            taken = ownership.acquire_many(
                session, account_ids=free[:room], owner=self.owner, now=now, ttl=self.ttl
            )
        for account_id in sorted(taken):
            self._launch(account_id)

    def _launch(self, account_id: int) -> None:
        event = asyncio.Event()
        self.stops[account_id] = event
        self.tasks[account_id] = self._start(account_id, event, self.fence_for(account_id))

    async def _give_back(self, account_ids: set[int]) -> None:
        if not account_ids:
            return
        await self.stop_watchers(account_ids)
        with transaction(self.ctx.sessions) as session:
            ownership.release(
                session, owner=self.owner, account_ids=account_ids, now=self.ctx.clock.now()
            )

    async def stop_watchers(self, account_ids: set[int], *, grace: float = STOP_GRACE) -> None:
        """Stop and await these watchers (log out first; cancelled after ``grace``)."""
        tasks = [self.tasks.pop(a) for a in account_ids if a in self.tasks]
        for account_id in account_ids:
            event = self.stops.pop(account_id, None)
            if event is not None:
                event.set()
        if not tasks:
            return
        _, hanging = await asyncio.wait(tasks, timeout=grace) if grace > 0 else (set(), tasks)
        for task in hanging:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def shutdown(self) -> None:
        """Clean stop: every watcher logs out, then every lease is released."""
        owned = set(self.tasks)
        await self.stop_watchers(owned, grace=10.0)
        with contextlib.suppress(Exception), transaction(self.ctx.sessions) as session:
            mine = set(ownership.owned(session, owner=self.owner))
            ownership.release(session, owner=self.owner, account_ids=mine, now=self.ctx.clock.now())
