"""Group commit of the hot-path state writes of every account sending in this worker.

Before DATA a message's ``sending`` must be durable; nothing says each message needs its own
transaction. Accounts that reach DATA at the same moment share one commit: each waits for the
commit that carries its ``sending`` row, and the ``sent`` records accepted meanwhile ride along.
Exactly-once holds as before — no DATA starts before its ``sending`` is committed — with one
commit (and a handful of multi-row statements) per group instead of per message.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta

from sqlalchemy import Connection, Table, bindparam

from fluenzr.sending import message_records
from fluenzr.storage.models.outbox import SendingState
from fluenzr.storage.runtime import Runtime

_STATE: Table = SendingState.__table__  # type: ignore[assignment]
_RESET_BACKOFF = (
    _STATE.update()
    .where(_STATE.c.account_id == bindparam("aid"), _STATE.c.backoff_level > 0)
    .values(backoff_level=0)
)


HOLD = 5.0  # seconds an unused connection is kept; older ones go back to the pool (and its ping)
SENT_WAIT = 0.005  # seconds a ``sent`` record waits for a ``sending`` commit to ride along


class StateWriter:
    def __init__(self, ctx: Runtime, *, lease: timedelta, worker_id: str) -> None:
        self.ctx = ctx
        self.lease = lease
        self.worker_id = worker_id
        self._sending: list[dict[str, object]] = []
        self._sent: list[message_records.Delivered] = []
        self._accounts: set[int] = set()  # an accepted message ends the account's backoff
        self._waiters: list[asyncio.Future[bool]] = []
        self._scheduled = False
        self._later: asyncio.TimerHandle | None = None
        # Connections kept between commits: a checkout per commit costs a pool round (and on
        # PostgreSQL a ping round trip). Several at once when PostgreSQL commits overlap.
        self._idle: list[tuple[float, Connection]] = []
        # A PostgreSQL commit waits on the server's disk: there it runs in a thread, so other
        # accounts keep talking SMTP meanwhile. SQLite commits are short and local.
        self._threaded = ctx.engine.dialect.name == "postgresql"

    def delivered(self, item: message_records.Delivered, *, reset_backoff: bool = True) -> None:
        """Record an accepted message. It rides along with the next ``sending`` commit (its
        account's next message reaches DATA a round trip later), or at the latest after
        ``SENT_WAIT``: one commit per message instead of two, and a delivered message still
        stays ``sending`` only for moments. ``reset_backoff``: the account's backoff may be
        set (False for the later messages of a batch, whose first delivery already reset it)."""
        self._sent.append(item)
        if reset_backoff:
            self._accounts.add(item.account_id)
        if not self._scheduled and self._later is None:
            self._later = asyncio.get_running_loop().call_later(SENT_WAIT, self._schedule)

    def _schedule(self) -> None:
        if not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(lambda: asyncio.ensure_future(self._commit()))

    async def sending(self, outbox_id: int, *, now: datetime) -> bool:
        """Once this message's ``sending`` is committed: True, DATA may start. False: this
        worker no longer holds the message (lease lost or cancelled) and must not send it."""
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[bool] = loop.create_future()
        self._sending.append(
            {"oid": outbox_id, "now": now, "until": now + self.lease, "worker": self.worker_id}
        )
        self._waiters.append(waiter)
        self._schedule()
        return await waiter

    async def flush(self) -> None:
        """Commit the ``sent`` records still waiting (end of a batch, before stopping)."""
        if self._sent or self._sending:
            await self._commit()

    async def _commit(self) -> None:
        self._scheduled = False
        if self._later is not None:
            self._later.cancel()
            self._later = None
        sending, sent, accounts, waiters = self._sending, self._sent, self._accounts, self._waiters
        self._sending, self._sent, self._accounts, self._waiters = [], [], set(), []
        if not (sending or sent):
            return
        try:
            if self._threaded:
                taken = await asyncio.to_thread(self._write, sending, sent, accounts)
            else:
                taken = self._write(sending, sent, accounts)
        except BaseException as exc:
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_exception(exc)
            if not waiters:
                raise
            return
        for row, waiter in zip(sending, waiters, strict=True):
            if not waiter.done():
                waiter.set_result(row["oid"] in taken)

    def _write(
        self,
        sending: list[dict[str, object]],
        sent: list[message_records.Delivered],
        accounts: set[int],
    ) -> set[int]:
        connection = self._checkout()
        try:
            with connection.begin():
                taken = _apply(connection, sending, sent, accounts, worker=self.worker_id)
        except BaseException:
            connection.close()  # back to the pool, which checks it before lending it again
            raise
        self._idle.append((time.monotonic(), connection))
        return taken

    def _checkout(self) -> Connection:
        while True:
            try:  # pop() alone: PostgreSQL commits run in threads
                used, connection = self._idle.pop()
            except IndexError:
                return self.ctx.engine.connect()
            if time.monotonic() - used < HOLD:
                return connection
            connection.close()

    def close(self) -> None:
        """Give the kept connections back to the pool (the worker is stopping)."""
        while self._idle:
            self._idle.pop()[1].close()


def _apply(
    connection: Connection,
    sending: list[dict[str, object]],
    sent: list[message_records.Delivered],
    accounts: set[int],
    *,
    worker: str,
) -> set[int]:
    if sent:
        message_records.mark_sent(connection, sent)
    if accounts:
        connection.execute(_RESET_BACKOFF, [{"aid": a} for a in accounts])
    if not sending:
        return set()
    done = connection.execute(message_records.SENDING_STATEMENT, sending)
    ids = [int(str(row["oid"])) for row in sending]
    dialect = connection.dialect
    sane = dialect.supports_sane_multi_rowcount if len(ids) > 1 else dialect.supports_sane_rowcount
    if sane and done.rowcount == len(ids):
        return set(ids)  # the usual case: every row taken, no read-back needed
    return message_records.taken_for_sending(connection, ids=ids, worker=worker)
