"""Sending one claimed batch for one account over its (reused) SMTP connection.

Per message: MAIL + RCPT, then ``sending`` is committed, then DATA. The batch is read in one go,
and the ``sent`` record of a message is committed together with the ``sending`` record of the
next one (or at the end of the batch): one commit per message, and a crash in between leaves the
message in ``sending`` — resolved by recovery, never re-sent blindly. A failure is decided by
:mod:`fluenzr.sending.failure_policy` and applied here: the message is deferred or failed, or the
whole account is paused or backed off.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from fluenzr.error_codes import ErrorCode
from fluenzr.errors import VaultError
from fluenzr.mail.mime import with_date
from fluenzr.mail.reply_codes import Stage
from fluenzr.sending import leases, message_records, pacing, pauses, suppression
from fluenzr.sending.account_connection import RecipientOutcome, SmtpFailure
from fluenzr.sending.connections import Connections
from fluenzr.sending.failure_policy import Action, Decision, Failure, Kind, decide
from fluenzr.sending.writer import StateWriter
from fluenzr.storage import hard_bounces
from fluenzr.storage.account_pausing import pause_account
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
from fluenzr.storage.runtime import Runtime

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OutboxJob:
    """What one message needs on the wire, read with its batch in one short transaction."""

    outbox_id: int
    workspace_id: int
    message_id: str
    sender: str
    recipients: list[str]
    mime: bytes
    suppressed: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Batch:
    account_id: int
    timezone: str
    copy: bool
    credentials_changed_at: datetime | None
    jobs: list[OutboxJob]
    endpoint: tuple[object, ...] = ()  # what the credentials are bound to, as the row says now


_TOKEN_REFUSED = frozenset({ErrorCode.OAUTH_TOKEN_REJECTED})


class BatchSender:
    """One per claimed batch of one account."""

    def __init__(
        self,
        ctx: Runtime,
        *,
        worker_id: str,
        lease: timedelta,
        connections: Connections,
        writer: StateWriter,
    ) -> None:
        self.ctx = ctx
        self.worker_id = worker_id
        self.lease = lease
        self.connections = connections
        self.writer = writer
        self._backoff_reset = False  # a delivery of this batch has already reset the backoff

    def _load(self, claim: leases.Claim) -> Batch | None:
        with self.ctx.sessions() as session:
            account = session.get(Account, claim.account_id)
            if account is None:
                return None
            rows = session.execute(
                select(
                    OutboxMessage.id,
                    OutboxMessage.workspace_id,
                    OutboxMessage.message_id,
                    OutboxMessage.envelope_from,
                    OutboxMessage.mime,
                ).where(
                    OutboxMessage.id.in_(claim.outbox_ids),
                    OutboxMessage.status.in_(PENDING),
                    OutboxMessage.locked_by == self.worker_id,  # else cancelled / lease lost
                )
            ).all()
            recipients: dict[int, list[str]] = {row.id: [] for row in rows}
            query = select(OutboxRecipient.outbox_id, OutboxRecipient.email).where(
                OutboxRecipient.outbox_id.in_(recipients), OutboxRecipient.status == QUEUED
            )
            for outbox_id, email in session.execute(query.order_by(OutboxRecipient.id)):
                recipients[outbox_id].append(email)
            everyone = [e for emails in recipients.values() for e in emails]
            blocked = suppression.suppressed(
                session, workspace_id=account.workspace_id, emails=everyone
            )
            jobs = [
                OutboxJob(
                    outbox_id=row.id,
                    workspace_id=row.workspace_id,
                    message_id=row.message_id,
                    sender=row.envelope_from,
                    recipients=[r for r in recipients[row.id] if r.lower() not in blocked],
                    mime=row.mime,
                    suppressed=frozenset(r.lower() for r in recipients[row.id]) & set(blocked),
                )
                for row in sorted(rows, key=lambda r: claim.outbox_ids.index(r.id))
            ]
            return Batch(
                account_id=account.id,
                timezone=account.timezone or "UTC",
                copy=bool(account.imap_host),
                credentials_changed_at=aware(account.credentials_changed_at),
                jobs=jobs,
                endpoint=endpoint_of(account),
            )

    async def run(self, claim: leases.Claim, *, stop: asyncio.Event) -> None:
        """Send the claimed messages in order; give back what is left when told to stop."""
        batch = self._load(claim)
        done: set[int] = set()
        try:
            for job in batch.jobs if batch else []:
                if stop.is_set():
                    break
                assert batch is not None
                keep_going = await self.send_one(batch, job)
                done.add(job.outbox_id)
                if not keep_going:
                    break
        finally:
            await self.writer.flush()
            left = [i for i in claim.outbox_ids if i not in done]
            with transaction(self.ctx.sessions) as session:
                leases.release(
                    session,
                    account_id=claim.account_id,
                    outbox_ids=left,
                    worker_id=self.worker_id,
                    refund=True,
                )
                loaded = {j.outbox_id for j in batch.jobs} if batch else set()
                gone = len([i for i in claim.outbox_ids if i not in loaded])
                if gone:  # cancelled since the claim: their slots go back
                    leases.refund_slots(session, account_id=claim.account_id, count=gone)

    async def send_one(self, batch: Batch, job: OutboxJob) -> bool:
        """Send one message. False when the account must stop (pause or backoff)."""
        if job.suppressed and self._drop_suppressed(job, batch.account_id):
            return True
        if not job.recipients:  # every recipient settled by an earlier attempt
            self._refused(job, batch.account_id, [])
            return True
        started: list[datetime] = []
        # The Date header is the ``sending_at`` time: the copy to Sent rebuilds the same bytes.
        now = self.ctx.clock.now()
        mime = with_date(job.mime, now.astimezone(ZoneInfo(batch.timezone)))

        lost: list[bool] = []

        async def before_data() -> bool:
            if not await self.writer.sending(job.outbox_id, now=now):
                lost.append(True)
                return False
            started.append(now)
            return True

        try:
            outcome = await self._attempt(job, batch, mime, before_data)
        except VaultError as exc:
            if exc.code not in pauses.UNTIL_FIXED:
                raise  # a key problem of the installation, not of this account
            # The stored password cannot be used for this server (changed since it was entered,
            # or never bound): nothing was sent anywhere; the account waits for the password.
            self._credentials_refused(job, batch.account_id, exc)
            await self.connections.drop(batch.account_id)
            return False
        except SmtpFailure as exc:
            keep_going = self._failed(
                job, batch.account_id, exc.failure, data_started=bool(started)
            )
            if not keep_going:
                await self.connections.drop(batch.account_id)
            return keep_going
        if started:
            self._delivered(batch, job, outcome)
            return True
        if lost:
            # Another worker holds it now (our lease ran out) or it was cancelled: its state is
            # theirs to write, and nothing was sent here.
            log.info("outbox %s: lease lost before DATA, left to its holder", job.outbox_id)
            return True
        self._refused(job, batch.account_id, outcome)
        return True

    def _delivered(self, batch: Batch, job: OutboxJob, outcome: Sequence[RecipientOutcome]) -> None:
        accepted = [r.email for r in outcome if r.failure is None]
        partial = len(accepted) < len(outcome)
        if partial:
            with transaction(self.ctx.sessions) as session:
                if message_records.fail_refused(session, outbox_id=job.outbox_id, results=outcome):
                    session.flush()
                    self._check_bounce_rate(session, batch.account_id)
        self.writer.delivered(
            message_records.Delivered(
                outbox_id=job.outbox_id,
                workspace_id=job.workspace_id,
                account_id=batch.account_id,
                message_id=job.message_id,
                accepted=accepted,
                partial=partial,
                copy=batch.copy,
                at=self.ctx.clock.now(),
            ),
            # Only a stop (which ends the batch) sets a backoff: once per batch is enough.
            reset_backoff=not self._backoff_reset,
        )
        self._backoff_reset = True

    def _check_bounce_rate(self, session: Session, account_id: int) -> None:
        """A synchronous hard bounce counts as a DSN would: maybe over the bounce rate now."""
        account = session.get(Account, account_id)
        if account is None:
            return
        settings = self.ctx.settings
        hard_bounces.check_bounce_rate(
            session,
            account=account,
            now=self.ctx.clock.now(),
            threshold=_setting(settings, "detect_bounce_rate_threshold", 0.05),
            window=int(_setting(settings, "detect_bounce_rate_window", 100)),
            min_sends=int(_setting(settings, "detect_bounce_rate_min_sends", 20)),
        )

    def _drop_suppressed(self, job: OutboxJob, account_id: int) -> bool:
        """Fail recipients suppressed since enqueue; True when nobody is left to send to."""
        with transaction(self.ctx.sessions) as session:
            row = session.get(OutboxMessage, job.outbox_id)
            assert row is not None
            gone = message_records.mark_suppressed(
                session, row, emails=sorted(job.suppressed), now=self.ctx.clock.now()
            )
            if gone:
                leases.refund_slots(session, account_id=account_id, count=1)
            return gone

    async def _attempt(
        self, job: OutboxJob, batch: Batch, mime: bytes, before_data: Callable[[], Awaitable[bool]]
    ) -> list[RecipientOutcome]:
        renew = False
        for retry in (True, False):
            try:
                smtp, reused = await self.connections.get(
                    batch.account_id,
                    changed_at=batch.credentials_changed_at,
                    endpoint=batch.endpoint,
                    renew=renew,
                )
            except SmtpFailure as exc:
                # An OAuth access token refused (revoked, expired early): get a new one once;
                # a grant that is gone then surfaces as reconnect_required.
                if retry and exc.failure.reason in _TOKEN_REFUSED:
                    renew = True
                    continue
                raise
            try:
                return await smtp.send(
                    mime, sender=job.sender, recipients=job.recipients, before_data=before_data
                )
            except SmtpFailure as exc:
                stale = exc.failure.stage is Stage.MAIL and exc.failure.kind is not Kind.REPLY
                if exc.failure.kind is not Kind.REPLY or exc.failure.code == 421:
                    await self.connections.drop(batch.account_id)
                if not (retry and reused and stale):
                    raise
        raise AssertionError("unreachable")

    def _refused(
        self, job: OutboxJob, account_id: int, outcome: Sequence[RecipientOutcome]
    ) -> None:
        """No DATA: every recipient was refused, or one only for now (then retry them all)."""
        now = self.ctx.clock.now()
        with transaction(self.ctx.sessions) as session:
            row = session.get(OutboxMessage, job.outbox_id)
            assert row is not None
            leases.refund_slots(session, account_id=account_id, count=1)
            temporary = [r.failure for r in outcome if r.failure and (r.failure.code or 0) < 500]
            if not temporary:
                message_records.mark_recipients_rejected(session, row, results=outcome, now=now)
                session.flush()
                self._check_bounce_rate(session, account_id)
                return
            failure = temporary[0]
            message_records.mark_deferred(
                session,
                row,
                decision=decide(failure),
                failure=failure,
                now=now,
                counted=False,
                results=outcome,
            )

    def _credentials_refused(self, job: OutboxJob, account_id: int, exc: VaultError) -> None:
        now = self.ctx.clock.now()
        log.info("account %s: credentials refused (%s)", account_id, exc.code)
        with transaction(self.ctx.sessions) as session:
            row = session.get(OutboxMessage, job.outbox_id)
            account = session.get(Account, account_id)
            assert row is not None
            assert account is not None
            leases.refund_slots(session, account_id=account_id, count=1)
            _requeue(row, now=now)
            error = {"code": exc.code, "field": exc.params.get("field"), "stage": "credentials"}
            pause_account(session, account, reason=exc.code, now=now, until=None, error=error)

    def _failed(
        self, job: OutboxJob, account_id: int, failure: Failure, *, data_started: bool
    ) -> bool:
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
                message_records.mark_deferred(
                    session, row, decision=decision, failure=failure, now=now, counted=data_started
                )
                return True
            if decision.action is Action.FAIL:
                message_records.mark_failed(
                    session, row, decision=decision, failure=failure, now=now
                )
                return True
            _requeue(row, now=now)
            _stop_account(session, account, decision, failure, now=now)
        return False


def endpoint_of(account: Account) -> tuple[object, ...]:
    """Every value a password is bound to: opened credentials are reused only while equal."""
    return (
        account.smtp_host,
        account.smtp_port,
        account.smtp_security,
        account.smtp_username,
        account.imap_host,
        account.imap_port,
        account.imap_security,
        account.imap_username,
        account.pin_sha256,
        account.smtp_ca_pem,
        account.imap_ca_pem,
        account.provider,
    )


def _requeue(row: OutboxMessage, *, now: datetime) -> None:
    """The account stops: this message goes back to the queue untouched."""
    if row.status == SENDING:
        row.status = QUEUED
        row.attempts = max(0, row.attempts - 1)
    row.locked_by, row.locked_until, row.updated_at = None, None, now


def _stop_account(
    session: Session, account: Account, decision: Decision, failure: Failure, *, now: datetime
) -> None:
    error = message_records.error_dict(decision, failure)
    state = leases.lock_state(session, account.id)
    level = (state.backoff_level if state else 0) + 1
    if decision.action is Action.PAUSE:
        until = None
        if decision.reason not in pauses.UNTIL_FIXED:
            until = now + (decision.retry_after or pacing.backoff(level, base=300, cap=3600))
        pause_account(session, account, reason=decision.reason, now=now, until=until, error=error)
        if state is not None:
            state.backoff_level = level
        return
    delay = max(decision.retry_after or timedelta(0), pacing.backoff(level, base=30, cap=1800))
    pauses.back_off(session, account, now=now, delay=delay, error=error)


def _setting(settings: object, name: str, default: float) -> float:
    """A detection setting the bounce rate shares (None: detection.config's default)."""
    value = getattr(settings, name, None)
    return default if value is None else float(value)
