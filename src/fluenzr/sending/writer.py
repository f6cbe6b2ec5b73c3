"""Group commit of the hot-path state writes of every account sending in this worker.

Before DATA a message's ``sending`` must be durable; nothing says each message needs its own
transaction. Accounts that reach DATA at the same moment share one commit: each waits for the
commit that carries its ``sending`` row, and the ``sent`` records accepted meanwhile ride along.
Exactly-once holds as before — no DATA starts before its ``sending`` is committed — with one
commit (and a handful of multi-row statements) per group instead of per message.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from sqlalchemy import Connection, Table, bindparam

from fluenzr.sending import results
from fluenzr.services.context import AppContext
from fluenzr.storage.models.outbox import SendingState

_STATE: Table = SendingState.__table__  # type: ignore[assignment]
_RESET_BACKOFF = (
    _STATE.update()
    .where(_STATE.c.account_id == bindparam("aid"), _STATE.c.backoff_level > 0)
    .values(backoff_level=0)
)


class StateWriter:
    def __init__(self, ctx: AppContext, *, lease: timedelta) -> None:
        self.ctx = ctx
        self.lease = lease
        self._sending: list[dict[str, object]] = []
        self._sent: list[results.Delivered] = []
        self._accounts: set[int] = set()  # an accepted message ends the account's backoff
        self._waiters: list[asyncio.Future[None]] = []
        self._scheduled = False
        # A PostgreSQL commit waits on the server's disk: there it runs in a thread, so other
        # accounts keep talking SMTP meanwhile. SQLite commits are short and local.
        self._threaded = ctx.engine.dialect.name == "postgresql"

    def delivered(self, item: results.Delivered) -> None:
        """Record an accepted message; committed with the next group, which starts at once:
        the shorter a delivered message stays ``sending``, the fewer a crash sets aside."""
        self._sent.append(item)
        self._accounts.add(item.account_id)
        self._schedule()

    def _schedule(self) -> None:
        if not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(lambda: asyncio.ensure_future(self._commit()))

    async def sending(self, outbox_id: int, *, now: datetime) -> None:
        """Return once this message's ``sending`` is committed (then DATA may start)."""
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        self._sending.append({"oid": outbox_id, "now": now, "until": now + self.lease})
        self._waiters.append(waiter)
        self._schedule()
        await waiter

    async def flush(self) -> None:
        """Commit the ``sent`` records still waiting (end of a batch, before stopping)."""
        if self._sent or self._sending:
            await self._commit()

    async def _commit(self) -> None:
        self._scheduled = False
        sending, sent, accounts, waiters = self._sending, self._sent, self._accounts, self._waiters
        self._sending, self._sent, self._accounts, self._waiters = [], [], set(), []
        if not (sending or sent):
            return
        try:
            if self._threaded:
                await asyncio.to_thread(self._write, sending, sent, accounts)
            else:
                self._write(sending, sent, accounts)
        except BaseException as exc:
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_exception(exc)
            if not waiters:
                raise
            return
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    def _write(
        self,
        sending: list[dict[str, object]],
        sent: list[results.Delivered],
        accounts: set[int],
    ) -> None:
        with self.ctx.engine.begin() as connection:
            _apply(connection, sending, sent, accounts)


def _apply(
    connection: Connection,
    sending: list[dict[str, object]],
    sent: list[results.Delivered],
    accounts: set[int],
) -> None:
    if sent:
        results.mark_sent(connection, sent)
    if accounts:
        connection.execute(_RESET_BACKOFF, [{"aid": a} for a in accounts])
    if sending:
        connection.execute(results.SENDING_STATEMENT, sending)
