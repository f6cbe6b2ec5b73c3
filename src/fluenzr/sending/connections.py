"""The worker's SMTP connections: at most one per account, reused, closed when idle."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta

from fluenzr.core.endpoints import MailboxCredentials, OpenCredentials
from fluenzr.sending.account_connection import AccountConnection
from fluenzr.storage.runtime import Runtime

Key = tuple[datetime | None, tuple[object, ...]]


class Connections:
    """At most one SMTP connection per account; credentials opened once per change.

    Opened credentials and the live connection are keyed by the password's change time *and*
    the endpoint the row names (host, port, user, TLS trust...): a fixed host, pin or CA is used
    from the next send on — or refused, when the password was not entered again with it.
    """

    def __init__(self, ctx: Runtime, *, open_credentials: OpenCredentials) -> None:
        self.ctx = ctx
        self._open_credentials = open_credentials
        self.open: dict[int, AccountConnection] = {}
        self._creds: dict[int, tuple[Key, MailboxCredentials]] = {}

    def credentials(
        self,
        account_id: int,
        changed_at: datetime | None,
        endpoint: tuple[object, ...] = (),
        *,
        renew: bool = False,
    ) -> MailboxCredentials:
        """Runs in a thread: an OAuth account's token may be refreshed over HTTP."""
        key: Key = (changed_at, endpoint)
        cached = self._creds.get(account_id)
        if cached is not None and cached[0] == key and not renew and self._valid(cached[1]):
            return cached[1]
        self._creds.pop(account_id, None)
        creds = self._open_credentials(account_id, renew=renew)
        self._creds[account_id] = (key, creds)
        return creds

    def _valid(self, creds: MailboxCredentials) -> bool:
        """An OAuth access token is reused until shortly before it expires."""
        if creds.valid_until is None:
            return True
        margin = timedelta(seconds=self.ctx.settings.oauth_refresh_margin)
        return creds.valid_until - self.ctx.clock.now() > margin

    async def get(
        self,
        account_id: int,
        *,
        changed_at: datetime | None,
        endpoint: tuple[object, ...] = (),
        renew: bool = False,
    ) -> tuple[AccountConnection, bool]:
        """A live session and whether it was reused (a reused one may have gone stale)."""
        cached = self._creds.get(account_id)
        if cached is not None and cached[0] != (changed_at, endpoint):
            await self.drop(account_id)  # logged in with what the row no longer says
        current = self.open.get(account_id)
        if current is not None and current.alive and not renew:
            return current, True
        creds = await asyncio.to_thread(
            self.credentials, account_id, changed_at, endpoint, renew=renew
        )
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
