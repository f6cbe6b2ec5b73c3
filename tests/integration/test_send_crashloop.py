"""kill -9 the worker at random points while it sends 100 messages through the real Postfix.

Afterwards every message is either ``sent`` (and arrived exactly once) or ``needs_review`` (a
crash hit it between "about to send DATA" and "server said 250": set aside, never re-sent
blindly). Nothing arrives twice; nothing is silently lost.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from fluenzr.services import outbox
from fluenzr.services.context import AppContext, default_workspace_id
from fluenzr.storage.models.outbox import OutboxMessage
from tests.integration.send_support import add_account, statuses
from tests.support.mailservers import SMTP_PLAIN_PORT, create_user, list_messages

pytestmark = [pytest.mark.mailserver, pytest.mark.slow]
MESSAGES = 100
LEASE = 1.5  # seconds: a killed worker's claims come back quickly
WORKER = """
import asyncio, sys
from datetime import timedelta
from fluenzr.config import load_settings
from fluenzr.services.context import open_app
from fluenzr.sending.worker import WorkerOptions
from fluenzr.services.runtime import sending_worker
ctx = open_app(load_settings(home=sys.argv[1]))
options = WorkerOptions(poll=0.05, lease=timedelta(seconds=float(sys.argv[2])))
asyncio.run(sending_worker(ctx, options).run(until_idle=True))
"""


def _spawn(home: Path, *, stderr: int = subprocess.DEVNULL) -> subprocess.Popen[bytes]:
    env = {**os.environ, "FLUENZR_HOME": str(home)}
    return subprocess.Popen(
        [sys.executable, "-c", WORKER, str(home), str(LEASE)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=stderr,
    )


def _pending(app: AppContext) -> int:
    counts = statuses(app)
    return sum(n for s, n in counts.items() if s not in ("sent", "needs_review"))


def _wait_for_progress(app: AppContext, worker: subprocess.Popen[bytes]) -> None:
    """Until the new worker has started sending (Python start-up takes seconds here)."""
    before = statuses(app).get("sent", 0)
    deadline = time.monotonic() + 20
    while worker.poll() is None and time.monotonic() < deadline:
        counts = statuses(app)
        if counts.get("sent", 0) > before or counts.get("sending", 0):
            return
        time.sleep(0.01)


@pytest.mark.timeout(240)
def test_kill_dash_nine_loses_nothing_and_duplicates_nothing(
    mailserver: None, app: AppContext, home: Path
) -> None:
    sender, rcpt = create_user("crash"), create_user("crash-rcpt")
    # Postfix's plain port keeps the loop short; the Sent-folder side of recovery has its
    # own test (test_send_recovery.py).
    # Four accounts (four SMTP connections at once) so a kill often lands inside a DATA.
    accounts = [
        add_account(
            app,
            email=sender.email.replace("@", f"+{n}@"),
            password=sender.password,
            port=SMTP_PLAIN_PORT,
            security="none",
            smtp_auth=False,  # the plain port offers no AUTH: the explicit "no authentication"
        )
        for n in range(4)
    ]
    requests = [
        outbox.SendRequest(
            account_id=accounts[i % 4], to=[rcpt.email], subject=f"m{i}", text=f"n{i}\n"
        )
        for i in range(MESSAGES)
    ]
    outbox.enqueue_many(app, workspace_id=default_workspace_id(app.sessions), requests=requests)

    rng = random.Random(int(os.environ.get("FLUENZR_CRASH_SEED", "5")))
    kills = 0
    deadline = time.monotonic() + 150
    while _pending(app) and time.monotonic() < deadline:
        worker = _spawn(home)
        _wait_for_progress(app, worker)
        # Let it send a random number of messages (whatever this machine's speed), then kill
        # it a random few milliseconds later: any point of a transaction may be hit.
        target = statuses(app).get("sent", 0) + rng.randint(3, 20)
        until = time.monotonic() + 4
        while worker.poll() is None and time.monotonic() < until:
            if statuses(app).get("sent", 0) >= target:
                break
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 0.05))
        if worker.poll() is None:
            worker.send_signal(signal.SIGKILL)
            kills += 1
        worker.wait()
        time.sleep(LEASE)  # let the dead worker's leases expire
    final = _spawn(home, stderr=subprocess.PIPE)
    _, errors = final.communicate(timeout=60)
    assert final.returncode == 0, errors.decode(errors="replace")

    with app.sessions() as session:
        rows = {r.message_id: r.status for r in session.scalars(select(OutboxMessage))}
    sent = {m for m, s in rows.items() if s == "sent"}
    review = {m for m, s in rows.items() if s == "needs_review"}
    assert sent | review == set(rows), statuses(app)

    arrived: Counter[str] = Counter()
    wait_until = time.monotonic() + 30
    while time.monotonic() < wait_until:
        arrived = Counter((m.message_id or "").strip("<>") for m in list_messages(rcpt))
        if sent <= set(arrived):
            break
        time.sleep(0.5)
    duplicates = {m: n for m, n in arrived.items() if n > 1}
    lost = sent - set(arrived)
    print(
        f"\ncrash loop: {kills} kills, {len(sent)} sent, {len(review)} needs_review "
        f"({len(review & set(arrived))} of them had arrived), "
        f"{len(lost)} lost, {len(duplicates)} duplicated"
    )
    assert kills >= 3
    assert duplicates == {}
    assert lost == set()
    assert set(arrived) <= set(rows)
    assert len(review) <= 4 * kills  # at most one message per connection is in DATA
