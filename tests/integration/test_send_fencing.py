"""A worker writes ``sending`` (and so starts DATA) only for messages it still holds.

A lease can run out during a long batch on a slow server; another worker may then claim the
same message. The ``sending`` write is fenced on the lease holder and a due status, so the
first worker learns it lost the message and never sends it: no duplicate.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import select, update

from fluenzr.sending.writer import StateWriter
from fluenzr.services import outbox
from fluenzr.services.context import AppContext, default_workspace_id
from fluenzr.storage.engine import transaction
from fluenzr.storage.models.outbox import OutboxMessage
from tests.integration.send_support import add_account


def _queued(app: AppContext, count: int) -> list[int]:
    account_id = add_account(
        app, email="ana@fluenzr.test", password="x", port=2525, security="none"
    )
    ws = default_workspace_id(app.sessions)
    requests = [
        outbox.SendRequest(account_id=account_id, to=["bob@example.org"], subject="Hola", text="…")
        for _ in range(count)
    ]
    return [view.id for view in outbox.enqueue_many(app, workspace_id=ws, requests=requests)]


def _lease(app: AppContext, ids: list[int], worker: str, status: str = "queued") -> None:
    with transaction(app.sessions) as session:
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids))
            .values(locked_by=worker, locked_until=app.clock.now(), status=status)
        )


async def test_sending_is_fenced_on_the_lease(app_any_db: AppContext) -> None:
    mine, stolen, cancelled = _queued(app_any_db, 3)
    _lease(app_any_db, [mine], "worker-a")
    _lease(app_any_db, [stolen], "worker-b")  # re-claimed after worker-a's lease expired
    _lease(app_any_db, [cancelled], "worker-a", status="cancelled")
    writer = StateWriter(app_any_db, lease=timedelta(minutes=2), worker_id="worker-a")
    now = app_any_db.clock.now()
    try:
        # Together, so they share one group commit (executemany), as in a real worker.
        taken = await asyncio.gather(
            writer.sending(mine, now=now),
            writer.sending(stolen, now=now),
            writer.sending(cancelled, now=now),
        )
        assert taken == [True, False, False]
    finally:
        writer.close()
    with app_any_db.sessions() as session:
        rows = {
            row.id: (row.status, row.locked_by, row.attempts)
            for row in session.scalars(select(OutboxMessage))
        }
    assert rows[mine][:2] == ("sending", "worker-a")
    assert rows[stolen] == ("queued", "worker-b", 0)  # untouched: worker-b's to send
    assert rows[cancelled][0] == "cancelled"


async def test_a_batch_all_held_is_all_taken(app_any_db: AppContext) -> None:
    ids = _queued(app_any_db, 4)
    _lease(app_any_db, ids, "worker-a")
    writer = StateWriter(app_any_db, lease=timedelta(minutes=2), worker_id="worker-a")
    now = app_any_db.clock.now()
    try:
        taken = await asyncio.gather(*(writer.sending(i, now=now) for i in ids))
    finally:
        writer.close()
    assert taken == [True] * 4
    with app_any_db.sessions() as session:
        statuses = set(session.scalars(select(OutboxMessage.status)))
    assert statuses == {"sending"}
