"""Watching IMAP mailboxes: catch up by UID, then IDLE (or poll), forever, exactly once.

Per account, one task and one connection — in one worker of the fleet only: which worker
watches which mailbox is decided by leases (:mod:`assignment`, :mod:`ownership`), and every
transaction that commits progress is fenced by the lease. The INBOX is opened with EXAMINE
(read-only) and read with BODY.PEEK, so no flag (``\\Seen`` included) ever changes. Progress is
the pair (UIDVALIDITY, last UID processed), committed in the same transaction as the facts
derived from each batch: a crash replays at most the batch in flight, and the unique keys on
incoming messages make that replay a no-op. When UIDVALIDITY changes, UIDs are meaningless: the
watcher rescans mail since its last sync (minus a day) and skips Message-IDs it already processed.

First sight of a mailbox: mail older than the account's first sent message (minus a day)
cannot be a reply to us, so the scan starts there (or at UIDNEXT when nothing was sent yet).
Initial and catch-up syncs share a semaphore so a worker starting with 1,000 mailboxes does
not fetch from all of them at once; idle connections cost one socket each.

Hostile mail cannot stop or stall a watcher: header fetches are partial (``max_header_bytes``),
messages over ``max_message_bytes`` are never fetched, classification runs in the shared
:class:`~fluenzr.detection.offloop.ClassifyPool` with a time budget, and a batch whose
recording fails is retried one message per transaction (:mod:`recording`) so only the faulty
message is quarantined (an ``unparseable`` event) while the position still advances past it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fluenzr.core.endpoints import OpenCredentials
from fluenzr.detection.assignment import Assignment
from fluenzr.detection.config import DetectionConfig, from_settings
from fluenzr.detection.host_gate import HostGate
from fluenzr.detection.imap_adapter import connect_account
from fluenzr.detection.limits import check_size
from fluenzr.detection.mailbox import Mailbox, MailboxInfo
from fluenzr.detection.offloop import Classifier, ClassifyPool, Parsed
from fluenzr.detection.ownership import Fence, LeaseLost
from fluenzr.detection.processing import TRIAGE_FIELDS, relevant_uids
from fluenzr.detection.recording import record_batch
from fluenzr.detection.webhooks import WebhookRuntime, run_webhooks
from fluenzr.errors import FluenzrError
from fluenzr.storage.base import aware
from fluenzr.storage.engine import transaction
from fluenzr.storage.heartbeats import new_worker_id
from fluenzr.storage.models import Account
from fluenzr.storage.models.detection import ImapSyncState
from fluenzr.storage.models.outbox import OutboxMessage
from fluenzr.storage.runtime import Runtime

log = logging.getLogger(__name__)
INBOX = "INBOX"
Connect = Callable[[int], Awaitable[Mailbox]]


class MailboxWatcher:
    def __init__(
        self,
        ctx: Runtime,
        *,
        account_id: int,
        config: DetectionConfig,
        connect: Connect,
        gate: asyncio.Semaphore,
        pool: ClassifyPool | None = None,
        fence: Fence | None = None,
    ) -> None:
        self.ctx = ctx
        self.account_id = account_id
        self.config = config
        self.connect = connect
        self.gate = gate
        self.pool = pool or ClassifyPool(config)
        # Checked in every transaction that commits progress (None: a one-shot pass, no lease).
        self.fence = fence
        self.processed = 0
        self.quarantined = 0

    async def run(self, stop: asyncio.Event) -> None:
        delay = self.config.backoff_min
        while not stop.is_set():
            mailbox: Mailbox | None = None
            try:
                async with self.gate:  # bounded: connecting and catching up are the costly part
                    mailbox = await self.connect(self.account_id)
                    await self.sync(mailbox)
                delay = self.config.backoff_min
                await self.watch(mailbox, stop)
            except LeaseLost:
                log.info("account %s: lease lost, another worker watches it now", self.account_id)
                return
            except FluenzrError as error:
                self._record_error(error)
                log.warning("account %s: %s", self.account_id, error.code)
            except Exception:  # one mailbox's surprise must never end its watch for good
                log.exception("account %s: watcher failed, reconnecting", self.account_id)
            finally:
                if mailbox is not None:
                    with contextlib.suppress(Exception):
                        await mailbox.close()
            if not stop.is_set():
                await _sleep(stop, delay)
                delay = min(delay * 2, self.config.backoff_max)

    async def watch(self, mailbox: Mailbox, stop: asyncio.Event) -> None:
        while not stop.is_set():
            if mailbox.can_idle:
                await mailbox.wait_for_change(seconds=self.config.idle_refresh, stop=stop)
            else:
                await _sleep(stop, self.config.poll_interval)
                if stop.is_set():
                    return
                await mailbox.poll()
            if not stop.is_set():
                await self.sync(mailbox)

    async def sync(self, mailbox: Mailbox) -> int:
        """Process every message not yet seen; return how many were recorded."""
        info = await mailbox.examine(INBOX)
        uids = await self._pending_uids(mailbox, info)
        done = 0
        batch = self.config.fetch_batch
        for start in range(0, len(uids), batch):
            done += await self._process_batch(mailbox, info, uids[start : start + batch])
        self._finish(info)
        self.processed += done
        return done

    async def _pending_uids(self, mailbox: Mailbox, info: MailboxInfo) -> list[int]:
        # Never hold a database connection across network I/O: a thousand watchers share a
        # small connection pool, and a blocked checkout would stall the whole event loop.
        with self.ctx.sessions() as session:
            state = session.get(ImapSyncState, (self.account_id, INBOX))
            current = state is not None and state.uidvalidity == info.uidvalidity
            last = state.last_uid if state is not None else 0
        if current:
            return [u for u in await mailbox.uids_from(last + 1) if u > last]
        with transaction(self.ctx.sessions) as session:
            self._fenced(session)
            state = session.get(ImapSyncState, (self.account_id, INBOX))
            since = self._rescan_from(session, state)
            if state is None:
                state = ImapSyncState(account_id=self.account_id, mailbox=INBOX, last_uid=0)
                state.resyncs = 0
                session.add(state)
            elif state.uidvalidity is not None:
                state.resyncs += 1
                log.info("account %s: UIDVALIDITY changed, resync", self.account_id)
            state.uidvalidity = info.uidvalidity
            state.last_uid = 0
        if since is None:
            self._set_last_uid(info, (info.uidnext or 1) - 1)
            return []
        return sorted(await mailbox.uids_since(since))

    def _rescan_from(self, session: Session, state: ImapSyncState | None) -> date | None:
        if state is not None and state.uidvalidity is not None:
            last = aware(state.last_sync_at) or self.ctx.clock.now()
            return (last - timedelta(days=1)).date()
        first = session.scalar(
            select(func.min(OutboxMessage.created_at)).where(
                OutboxMessage.account_id == self.account_id
            )
        )
        if first is None:
            return None
        return ((aware(first) or first) - timedelta(days=1)).date()

    async def _process_batch(self, mailbox: Mailbox, info: MailboxInfo, uids: Sequence[int]) -> int:
        fetched = await mailbox.fetch_headers(
            uids, TRIAGE_FIELDS, limit=self.config.max_header_bytes
        )
        sizes = {uid: size for uid, _, size in fetched}
        now = self.ctx.clock.now()
        with self.ctx.sessions() as session:
            account = session.get(Account, self.account_id)
            if account is None:
                return 0
            own = frozenset({account.email.lower()})
            wanted = relevant_uids(
                session,
                [(uid, data) for uid, data, _ in fetched],
                workspace_id=account.workspace_id,
                account_id=account.id,
                now=now,
                config=self.config,
            )
        parsed: list[tuple[int, Parsed]] = []
        for uid in wanted:
            too_large = check_size(sizes.get(uid), self.config)
            if too_large is not None:
                parsed.append((uid, too_large))
        skipped = {uid for uid, _ in parsed}
        fetch = [uid for uid in wanted if uid not in skipped]
        bodies = await mailbox.fetch_messages(fetch, limit=self.config.body_limit) if fetch else []
        for uid, raw in bodies:
            parsed.append((uid, await self.pool.classify(raw, own_addresses=own)))
        parsed.sort(key=lambda item: item[0])
        done, quarantined = record_batch(
            self.ctx,
            account_id=self.account_id,
            info=info,
            uids=uids,
            parsed=parsed,
            now=now,
            config=self.config,
            fence=self.fence,
        )
        self.quarantined += quarantined
        return done

    def _fenced(self, session: Session) -> None:
        if self.fence is not None:
            self.fence(session)

    def _set_last_uid(self, info: MailboxInfo, uid: int) -> None:
        with transaction(self.ctx.sessions) as session:
            self._fenced(session)
            state = session.get(ImapSyncState, (self.account_id, INBOX))
            if state is not None and state.uidvalidity == info.uidvalidity:
                state.last_uid = max(state.last_uid, uid, 0)
                state.last_sync_at = self.ctx.clock.now()

    def _finish(self, info: MailboxInfo) -> None:
        """Every UID below the UIDNEXT seen at EXAMINE has been searched and handled."""
        with transaction(self.ctx.sessions) as session:
            self._fenced(session)
            state = session.get(ImapSyncState, (self.account_id, INBOX))
            if state is not None and state.uidvalidity == info.uidvalidity:
                if info.uidnext:
                    state.last_uid = max(state.last_uid, info.uidnext - 1)
                state.last_sync_at = self.ctx.clock.now()
                state.last_error = None

    def _record_error(self, error: FluenzrError) -> None:
        with contextlib.suppress(Exception), transaction(self.ctx.sessions) as session:
            state = session.get(ImapSyncState, (self.account_id, INBOX))
            if state is None:
                state = ImapSyncState(account_id=self.account_id, mailbox=INBOX, last_uid=0)
                state.resyncs = 0
                session.add(state)
            state.last_error = json.dumps(error.to_dict("en"), ensure_ascii=False)


async def _sleep(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


def imap_account_ids(ctx: Runtime) -> list[int]:
    with ctx.sessions() as session:
        return list(
            session.scalars(
                select(Account.id).where(Account.imap_host.is_not(None)).order_by(Account.id)
            )
        )


async def watch_accounts(
    ctx: Runtime,
    *,
    stop: asyncio.Event,
    connect: Connect,
    config: DetectionConfig,
    until_idle: bool = False,
    classifier: Classifier | None = None,
    owner: str | None = None,
) -> dict[int, MailboxWatcher]:
    """Watch this worker's share of the IMAP mailboxes (:mod:`assignment`), until ``stop``.

    ``owner`` is this worker's id (its ``worker_heartbeats`` row; a fresh one when None).
    ``until_idle``: one catch-up pass over every mailbox, without leases, then return.
    ``classifier`` replaces the default parse-and-classify step (a seam for tests).
    """
    gate = asyncio.Semaphore(config.initial_sync_concurrency)
    pool = ClassifyPool(config, classifier=classifier)
    watchers: dict[int, MailboxWatcher] = {}
    try:
        if until_idle:
            await _sync_once(
                ctx, connect=connect, config=config, gate=gate, watchers=watchers, pool=pool
            )
            return watchers

        def start(account_id: int, own_stop: asyncio.Event, fence: Fence) -> asyncio.Task[None]:
            watcher = MailboxWatcher(
                ctx,
                account_id=account_id,
                config=config,
                connect=connect,
                gate=gate,
                pool=pool,
                fence=fence,
            )
            watchers[account_id] = watcher
            return asyncio.create_task(watcher.run(own_stop))

        assignment = Assignment(
            ctx,
            owner=owner or new_worker_id(),
            config=config,
            start=start,
            mailboxes=lambda: imap_account_ids(ctx),
        )
        await assignment.run(stop)
        return watchers
    finally:
        pool.close()


async def _sync_once(
    ctx: Runtime,
    *,
    connect: Connect,
    config: DetectionConfig,
    gate: asyncio.Semaphore,
    watchers: dict[int, MailboxWatcher],
    pool: ClassifyPool,
) -> None:
    async def one(account_id: int) -> None:
        watcher = MailboxWatcher(
            ctx, account_id=account_id, config=config, connect=connect, gate=gate, pool=pool
        )
        watchers[account_id] = watcher
        mailbox = None
        try:
            async with gate:
                mailbox = await connect(account_id)
                await watcher.sync(mailbox)
        except FluenzrError as error:
            watcher._record_error(error)
        finally:
            if mailbox is not None:
                with contextlib.suppress(Exception):
                    await mailbox.close()

    await asyncio.gather(*(one(a) for a in imap_account_ids(ctx)))


async def run_detection(
    ctx: WebhookRuntime,
    *,
    open_credentials: OpenCredentials,
    stop: asyncio.Event | None = None,
    until_idle: bool = False,
    config: DetectionConfig | None = None,
    connect: Connect | None = None,
    classifier: Classifier | None = None,
    owner: str | None = None,
    host_gate: HostGate | None = None,
) -> None:
    """The worker's detection role: watch its share of the IMAP mailboxes, deliver webhooks.

    ``until_idle``: one catch-up pass over every mailbox and one webhook round, then return.
    ``owner``: this worker's id, as in ``worker_heartbeats`` (the lease owner).
    """
    chosen = config or from_settings(ctx.settings)
    stop = stop or asyncio.Event()
    hosts = host_gate or HostGate(per_host=chosen.connect_per_host, stagger=chosen.connect_stagger)

    async def default_connect(account_id: int) -> Mailbox:
        return await connect_account(
            open_credentials, account_id=account_id, config=chosen, gate=hosts
        )

    opener = connect or default_connect
    if until_idle:
        await watch_accounts(
            ctx, stop=stop, connect=opener, config=chosen, until_idle=True, classifier=classifier
        )
        await run_webhooks(ctx, stop=stop, config=chosen, until_idle=True)
        return
    await asyncio.gather(
        watch_accounts(
            ctx, stop=stop, connect=opener, config=chosen, classifier=classifier, owner=owner
        ),
        run_webhooks(ctx, stop=stop, config=chosen),
    )
