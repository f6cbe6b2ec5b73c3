"""Four worker processes on one PostgreSQL database share the outbox without a coordinator,
and an account's daily cap holds across them: cap 50, 200 queued → exactly 50 delivered."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from fluenzr.config import load_settings
from fluenzr.services import outbox
from fluenzr.services.context import AppContext, default_workspace_id, open_app
from fluenzr.storage.models.outbox import SendingState
from tests.integration.send_support import add_account, statuses
from tests.support.mailservers import SMTP_PLAIN_PORT, create_user, list_messages
from tests.support.services import fresh_pg_database

pytestmark = [pytest.mark.mailserver, pytest.mark.postgres]
WORKER = """
import asyncio
from fluenzr.config import load_settings
from fluenzr.services.context import open_app
from fluenzr.services.runtime import run_worker
asyncio.run(run_worker(open_app(load_settings()), only="send", until_idle=True))
"""


@pytest.fixture
def pg_app(home: Path) -> Iterator[tuple[AppContext, str]]:
    with fresh_pg_database() as url:
        ctx = open_app(load_settings(home=home, database_url=url))
        yield ctx, url
        ctx.close()


@pytest.mark.timeout(180)
def test_four_workers_one_cap(mailserver: None, pg_app: tuple[AppContext, str], home: Path) -> None:
    app, url = pg_app
    sender, rcpt = create_user("scale"), create_user("scale-rcpt")
    account_id = add_account(
        app,
        email=sender.email,
        password=sender.password,
        port=SMTP_PLAIN_PORT,
        security="none",
        smtp_auth=False,  # the plain port offers no AUTH: the explicit "no authentication"
        daily_limit=50,
        hourly_limit=50,
    )
    requests = [
        outbox.SendRequest(account_id=account_id, to=[rcpt.email], subject=f"s{i}", text="x\n")
        for i in range(200)
    ]
    outbox.enqueue_many(app, workspace_id=default_workspace_id(app.sessions), requests=requests)

    env = {**os.environ, "FLUENZR_HOME": str(home), "FLUENZR_DATABASE_URL": url}
    workers = [
        subprocess.Popen([sys.executable, "-c", WORKER], env=env, stderr=subprocess.PIPE)
        for _ in range(4)
    ]
    for worker in workers:
        _, errors = worker.communicate(timeout=150)
        assert worker.returncode == 0, errors.decode(errors="replace")

    assert statuses(app) == {"sent": 50, "queued": 150}
    with app.sessions() as session:
        state = session.scalar(select(SendingState).where(SendingState.account_id == account_id))
        assert state is not None and state.day_count == 50
    deadline = time.monotonic() + 30
    while len(list_messages(rcpt)) < 50 and time.monotonic() < deadline:
        time.sleep(0.5)
    time.sleep(1)
    assert len(list_messages(rcpt)) == 50
