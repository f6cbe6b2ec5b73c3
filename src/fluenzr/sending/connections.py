"""The worker's SMTP connections: at most one per account, reused, closed when idle."""

from __future__ import annotations

import time
from datetime import datetime

from fluenzr.core.endpoints import MailboxCredentials, OpenCredentials
from fluenzr.sending.account_connection import AccountConnection
from fluenzr.storage.runtime import Runtime


class Connections:
    """At most one SMTP connection per account; credentials opened once per change."""

    def __init__(self, ctx: Runtime, *, open_credentials: OpenCredentials) -> None:
        self.ctx = ctx
        self._open_credentials = open_credentials
        self.open: dict[int, AccountConnection] = {}
        self._creds: dict[int, tuple[datetime | None, MailboxCredentials]] = {}

    def credentials(self, account_id: int, changed_at: datetime | None) -> MailboxCredentials:
        cached = self._creds.get(account_id)
        if cached is not None and cached[0] == changed_at:
            return cached[1]
        creds = self._open_credentials(account_id)
        self._creds[account_id] = (changed_at, creds)
        return creds

    async def get(
        self, account_id: int, *, changed_at: datetime | None
    ) -> tuple[AccountConnection, bool]:
        """A live session and whether it was reused (a reused one may have gone stale)."""
        current = self.open.get(account_id)
        if current is not None and current.alive:
            return current, True
        creds = self.credentials(account_id, changed_at)
        fresh = await AccountConnection.open(creds.smtp, timeout=self.ctx.settings.smtp_timeout)
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
