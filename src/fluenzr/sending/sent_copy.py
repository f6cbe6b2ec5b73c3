"""Copy to Sent: APPEND the exact bytes that were sent, flagged \\Seen; retried alone on failure.

A failure here never re-sends the mail: the message is ``sent`` already, only its copy is
retried (``sent_copy`` pending → done, or failed after ``MAX_COPY_ATTEMPTS``). The Sent folder
is the one LIST marks ``\\Sent`` (RFC 6154), else the first known name ("Sent", "Enviados"…).
The same lookup serves crash recovery: is this Message-ID already in Sent?
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select, update

from fluenzr.core.endpoints import OpenCredentials
from fluenzr.errors import MailError, VaultError
from fluenzr.mail.mime import with_date
from fluenzr.sending import imap_sent, pacing
from fluenzr.storage.base import aware
from fluenzr.storage.engine import transaction
from fluenzr.storage.models import Account
from fluenzr.storage.models.outbox import (
    COPY_DONE,
    COPY_FAILED,
    COPY_PENDING,
    SENT,
    OutboxMessage,
)
from fluenzr.storage.runtime import Runtime

log = logging.getLogger(__name__)
MAX_COPY_ATTEMPTS = 6
BATCH = 50


class SentCopier:
    def __init__(
        self,
        ctx: Runtime,
        *,
        worker_id: str,
        lease: timedelta,
        open_credentials: OpenCredentials,
    ) -> None:
        self.ctx = ctx
        self._open_credentials = open_credentials
        self.worker_id = worker_id
        self.lease = lease

    def _claim(self) -> list[int]:
        now = self.ctx.clock.now()
        with transaction(self.ctx.sessions) as session:
            query = (
                select(OutboxMessage.id)
                .where(
                    OutboxMessage.status == SENT,
                    OutboxMessage.sent_copy == COPY_PENDING,
                    or_(OutboxMessage.copy_next_at.is_(None), OutboxMessage.copy_next_at <= now),
                    or_(OutboxMessage.locked_until.is_(None), OutboxMessage.locked_until < now),
                )
                .order_by(OutboxMessage.id)
                .limit(BATCH)
                .with_for_update(skip_locked=True)
            )
            ids = list(session.scalars(query))
            if ids:
                session.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id.in_(ids))
                    .values(locked_by=self.worker_id, locked_until=now + self.lease)
                )
            return ids

    async def run_due(self, *, stop: asyncio.Event) -> int:
        """Copy every due message once, one IMAP connection per account. Returns how many."""
        ids = self._claim()
        by_account: dict[int, list[tuple[int, bytes]]] = {}
        for outbox_id in ids:
            loaded = self._bytes(outbox_id)
            if loaded is None:
                self._record(outbox_id, "message_missing")
                continue
            by_account.setdefault(loaded[0], []).append((outbox_id, loaded[1]))
        for account_id, items in by_account.items():
            if stop.is_set():
                for outbox_id, _ in items:
                    self._unlock(outbox_id)
                continue
            errors = await self._append(account_id, [data for _, data in items])
            for (outbox_id, _), error in zip(items, errors, strict=True):
                self._record(outbox_id, error)
        return len(ids)

    def _unlock(self, outbox_id: int) -> None:
        with transaction(self.ctx.sessions) as session:
            row = session.get(OutboxMessage, outbox_id)
            if row is not None:
                row.locked_by, row.locked_until = None, None

    def _bytes(self, outbox_id: int) -> tuple[int, bytes] | None:
        with self.ctx.sessions() as session:
            row = session.get(OutboxMessage, outbox_id)
            account = session.get(Account, row.account_id) if row else None
            if row is None or account is None or row.sending_at is None:
                return None
            when = aware(row.sending_at)
            assert when is not None
            tz = ZoneInfo(account.timezone or "UTC")
            return row.account_id, with_date(row.mime, when.astimezone(tz))

    async def _append(self, account_id: int, messages: list[bytes]) -> list[str | None]:
        try:
            creds = await asyncio.to_thread(self._open_credentials, account_id)
        except VaultError as exc:  # e.g. the IMAP server changed: never log in there
            log.info("copy to Sent skipped for account %s: %s", account_id, exc.code)
            return [exc.code] * len(messages)
        if creds.imap is None:
            return [None] * len(messages)  # IMAP removed since: nothing to copy to
        try:
            return await imap_sent.append_sent(
                creds.imap, messages, seconds=self.ctx.settings.imap_timeout
            )
        except MailError as exc:
            text = imap_sent.describe(exc)
            log.info("copy to Sent failed for account %s: %s", account_id, text)
            return [text] * len(messages)

    def _record(self, outbox_id: int, error: str | None) -> None:
        now = self.ctx.clock.now()
        with transaction(self.ctx.sessions) as session:
            row = session.get(OutboxMessage, outbox_id)
            if row is None:
                return
            row.locked_by, row.locked_until = None, None
            row.copy_attempts += 1
            if error is None:
                row.sent_copy, row.copy_error, row.copy_next_at = COPY_DONE, None, None
                return
            row.copy_error = error[:500]
            if row.copy_attempts >= MAX_COPY_ATTEMPTS:
                row.sent_copy, row.copy_next_at = COPY_FAILED, None
            else:
                row.copy_next_at = now + pacing.backoff(row.copy_attempts, base=30, cap=1800)

    async def find_in_sent(self, account_id: int, message_id: str) -> bool | None:
        """Recovery's question: is this Message-ID in the account's Sent folder?"""
        try:
            creds = await asyncio.to_thread(self._open_credentials, account_id)
        except VaultError as exc:
            log.warning("Sent lookup skipped for account %s: %s", account_id, exc.code)
            return None
        if creds.imap is None:
            return None
        try:
            return await imap_sent.sent_contains(
                creds.imap, message_id, seconds=self.ctx.settings.imap_timeout
            )
        except MailError as exc:
            log.warning(
                "Sent lookup failed for account %s: %s", account_id, imap_sent.describe(exc)
            )
            return None
