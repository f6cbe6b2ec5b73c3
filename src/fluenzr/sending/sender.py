"""Sending one claimed batch for one account over its (reused) SMTP connection.

Per message: MAIL + RCPT, then ``sending`` is committed, then DATA, then the outcome is
committed. A failure is decided by :mod:`fluenzr.sending.outcomes` and applied here: the
message is deferred or failed, or the whole account is paused or backed off.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from fluenzr.core.endpoints import MailboxCredentials
from fluenzr.mail.mime import with_date
from fluenzr.sending import leases, pacing, pauses, results, suppression
from fluenzr.sending.outcomes import Action, Decision, Failure, Kind, Stage, decide
from fluenzr.sending.smtp_session import RecipientResult, SmtpFailure, SmtpSession
from fluenzr.services.context import AppContext
from fluenzr.storage.base import aware
from fluenzr.storage.engine import transaction
from fluenzr.storage.models import Account
from fluenzr.storage.models.outbox import (
    PENDING,
    QUEUED,
    SENDING,
    OutboxMessage,
    OutboxRecipient,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    """What one message needs on the wire, read in one short transaction."""

    outbox_id: int
    sender: str
    recipients: list[str]
    mime: bytes
    timezone: str
    copy: bool
    credentials_changed_at: datetime | None
    suppressed: frozenset[str] = frozenset()


class Connections:
    """At most one SMTP connection per account; credentials opened once per change."""

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx
        self.open: dict[int, SmtpSession] = {}
        self._creds: dict[int, tuple[datetime | None, MailboxCredentials]] = {}

    def credentials(self, account_id: int, changed_at: datetime | None) -> MailboxCredentials:
        cached = self._creds.get(account_id)
        if cached is not None and cached[0] == changed_at:
            return cached[1]
        from fluenzr.services.accounts import open_credentials

        creds = open_credentials(self.ctx, account_id=account_id)
        self._creds[account_id] = (changed_at, creds)
        return creds

    async def get(self, job: Job, account_id: int) -> tuple[SmtpSession, bool]:
        """A live session and whether it was reused (a reused one may have gone stale)."""
        current = self.open.get(account_id)
        if current is not None and current.alive:
            return current, True
        creds = self.credentials(account_id, job.credentials_changed_at)
        fresh = await SmtpSession.open(creds.smtp, timeout=self.ctx.settings.smtp_timeout)
        self.open[account_id] = fresh
        return fresh, False

    async def drop(self, account_id: int) -> None:
        current = self.open.pop(account_id, None)
        if current is not None:
            await current.close()

    async def close_idle(self, *, older_than: float, keep: set[int]) -> None:
        now = time.monotonic()
        for account_id, session in list(self.open.items()):
            if account_id not in keep and now - session.last_used > older_than:
                await self.drop(account_id)

    async def close_all(self) -> None:
        for account_id in list(self.open):
            await self.drop(account_id)


class BatchSender:
    def __init__(
        self, ctx: AppContext, *, worker_id: str, lease: timedelta, connections: Connections
    ) -> None:
        self.ctx = ctx
        self.worker_id = worker_id
        self.lease = lease
        self.connections = connections

    def _load(self, outbox_id: int) -> Job | None:
        with self.ctx.sessions() as session:
            row = session.get(OutboxMessage, outbox_id)
            if row is None or row.status not in PENDING or row.locked_by != self.worker_id:
                return None  # cancelled, or the lease was lost
            account = session.get(Account, row.account_id)
            if account is None:
                return None
            query = select(OutboxRecipient.email).where(
                OutboxRecipient.outbox_id == row.id, OutboxRecipient.status == QUEUED
            )
            recipients = list(session.scalars(query.order_by(OutboxRecipient.id)))
            blocked = suppression.suppressed(
                session, workspace_id=row.workspace_id, emails=recipients
            )
            return Job(
                outbox_id=row.id,
                sender=row.envelope_from,
                recipients=[r for r in recipients if r.lower() not in blocked],
                suppressed=frozenset(blocked),
                mime=row.mime,
                timezone=account.timezone or "UTC",
                copy=bool(account.imap_host),
                credentials_changed_at=aware(account.credentials_changed_at),
            )

    async def run(self, claim: leases.Claim, *, stop: asyncio.Event) -> None:
        """Send the claimed messages in order; give back what is left when told to stop."""
        pending = list(claim.outbox_ids)
        try:
            while pending and not stop.is_set():
                keep_going = await self.send_one(claim.account_id, pending[0])
                pending.pop(0)
                if not keep_going:
                    break
        finally:
            if pending:
                with transaction(self.ctx.sessions) as session:
                    leases.release(
                        session,
                        account_id=claim.account_id,
                        outbox_ids=pending,
                        worker_id=self.worker_id,
                        refund=True,
                    )

    async def send_one(self, account_id: int, outbox_id: int) -> bool:
        """Send one message. False when the account must stop (pause or backoff)."""
        job = self._load(outbox_id)
        if job is None:
            with transaction(self.ctx.sessions) as session:
                leases.refund_slots(session, account_id=account_id, count=1)
            return True
        if job.suppressed and self._drop_suppressed(job, account_id):
            return True
        if not job.recipients:
            return True
        started: list[datetime] = []

        async def data() -> bytes:
            now = self.ctx.clock.now()
            with transaction(self.ctx.sessions) as session:
                results.mark_sending(session, outbox_id=outbox_id, now=now, lease=self.lease)
            started.append(now)
            return with_date(job.mime, now.astimezone(ZoneInfo(job.timezone)))

        try:
            outcome = await self._attempt(job, account_id, data)
        except SmtpFailure as exc:
            keep_going = self._failed(job, account_id, exc.failure, data_started=bool(started))
            if not keep_going:
                await self.connections.drop(account_id)
            return keep_going
        return self._done(job, account_id, outcome, data_started=bool(started))

    def _drop_suppressed(self, job: Job, account_id: int) -> bool:
        """Fail recipients suppressed since enqueue; True when nobody is left to send to."""
        with transaction(self.ctx.sessions) as session:
            row = session.get(OutboxMessage, job.outbox_id)
            assert row is not None
            gone = results.mark_suppressed(
                session, row, emails=sorted(job.suppressed), now=self.ctx.clock.now()
            )
            if gone:
                leases.refund_slots(session, account_id=account_id, count=1)
            return gone

    async def _attempt(
        self, job: Job, account_id: int, data: Callable[[], Awaitable[bytes]]
    ) -> list[RecipientResult]:
        smtputf8 = not job.sender.isascii() or not all(r.isascii() for r in job.recipients)
        for retry in (True, False):
            smtp, reused = await self.connections.get(job, account_id)
            try:
                return await smtp.send(
                    sender=job.sender,
                    recipients=job.recipients,
                    data=data,
                    smtputf8=smtputf8,
                )
            except SmtpFailure as exc:
                stale = exc.failure.stage is Stage.MAIL and exc.failure.kind is not Kind.REPLY
                await self._drop_on(exc.failure, account_id)
                if not (retry and reused and stale):
                    raise
        raise AssertionError("unreachable")

    async def _drop_on(self, failure: Failure, account_id: int) -> None:
        if failure.kind is not Kind.REPLY or failure.code == 421:
            await self.connections.drop(account_id)

    def _done(
        self, job: Job, account_id: int, outcome: list[RecipientResult], *, data_started: bool
    ) -> bool:
        now = self.ctx.clock.now()
        with transaction(self.ctx.sessions) as session:
            row = session.get(OutboxMessage, job.outbox_id)
            assert row is not None
            if data_started:
                results.mark_sent(session, row, results=outcome, now=now, copy=job.copy)
                state = leases.lock_state(session, account_id)
                if state is not None and state.backoff_level:
                    state.backoff_level = 0
                return True
            leases.refund_slots(session, account_id=account_id, count=1)
            temporary = [r.failure for r in outcome if r.failure and (r.failure.code or 0) < 500]
            if temporary:
                failure = temporary[0]
                results.mark_deferred(
                    session,
                    row,
                    decision=decide(failure),
                    failure=failure,
                    now=now,
                    counted=False,
                    results=outcome,
                )
            else:
                results.mark_recipients_rejected(session, row, results=outcome, now=now)
        return True

    def _failed(self, job: Job, account_id: int, failure: Failure, *, data_started: bool) -> bool:
        decision = decide(failure)
        now = self.ctx.clock.now()
        log.info("outbox %s: %s (%s)", job.outbox_id, decision.reason, failure.detail)
        with transaction(self.ctx.sessions) as session:
            row = session.get(OutboxMessage, job.outbox_id)
            account = session.get(Account, account_id)
            assert row is not None
            assert account is not None
            leases.refund_slots(session, account_id=account_id, count=1)
            if decision.action is Action.DEFER:
                results.mark_deferred(
                    session, row, decision=decision, failure=failure, now=now, counted=data_started
                )
                return True
            if decision.action is Action.FAIL:
                results.mark_failed(session, row, decision=decision, failure=failure, now=now)
                return True
            self._requeue(row, now=now)
            self._stop_account(session, account, decision, failure, now=now)
        return False

    @staticmethod
    def _requeue(row: OutboxMessage, *, now: datetime) -> None:
        """The account stops: this message goes back to the queue untouched."""
        if row.status == SENDING:
            row.status = QUEUED
            row.attempts = max(0, row.attempts - 1)
        row.locked_by, row.locked_until, row.updated_at = None, None, now

    def _stop_account(
        self,
        session: Session,
        account: Account,
        decision: Decision,
        failure: Failure,
        *,
        now: datetime,
    ) -> None:
        error = results.error_dict(decision, failure)
        state = leases.lock_state(session, account.id)
        level = (state.backoff_level if state else 0) + 1
        if decision.action is Action.PAUSE:
            until = None
            if decision.reason not in pauses.UNTIL_FIXED:
                delay = decision.retry_after or pacing.backoff(level, base=300, cap=3600)
                until = now + delay
            pauses.pause_account(
                session, account, reason=decision.reason, now=now, until=until, error=error
            )
            if state is not None:
                state.backoff_level = level
            return
        delay = max(decision.retry_after or timedelta(0), pacing.backoff(level, base=30, cap=1800))
        pauses.back_off(session, account, now=now, delay=delay, error=error)
