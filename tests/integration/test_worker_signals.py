"""`fluenzr worker` and SIGTERM: the SMTP transaction in progress ends, the rest goes back."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from sqlalchemy import select

from fluenzr.config import load_settings
from fluenzr.services.context import open_app
from fluenzr.storage.models.outbox import OutboxMessage
from tests.integration.send_support import add_account, enqueue, statuses
from tests.support.fault_smtp import RawServer


async def test_sigterm_finishes_the_current_message_then_exits(home: Path) -> None:
    server = await RawServer().start()
    server.replies["dot"] = "slow:1.5"  # each message takes 1.5 s to be accepted
    ctx = open_app(load_settings(home=home))
    try:
        account_id = add_account(
            ctx, email="ana@example.com", password="pw", port=server.port, security="none"
        )
        for n in range(5):
            enqueue(ctx, account_id, f"r{n}@example.org")
        env = {**os.environ, "FLUENZR_HOME": str(home)}
        worker = await asyncio.create_subprocess_exec(
            str(Path(sys.executable).parent / "fluenzr"), "worker", "--only", "send", env=env
        )
        for _ in range(400):  # until the first DATA is under way
            await asyncio.sleep(0.05)
            if statuses(ctx).get("sending"):
                break
        assert statuses(ctx).get("sending") == 1
        worker.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(worker.wait(), 30) == 0

        assert statuses(ctx) == {"sent": 1, "queued": 4}
        assert len(server.delivered) == 1
        with ctx.sessions() as session:
            locks = session.scalars(select(OutboxMessage.locked_by)).all()
        assert set(locks) == {None}  # the other claimed messages were given back
    finally:
        ctx.close()
        await server.stop()
