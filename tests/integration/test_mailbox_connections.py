"""The most connections sending and detection together open to one mailbox (documented in
docs/detection-scaleout.md): 1 IMAP IDLE + 1 SMTP + 1 IMAP for the Sent copy, counted by the
real Dovecot (``doveadm who``) and by the kernel (``ss``) while a worker sends and watches."""

from __future__ import annotations

import asyncio
import os
import subprocess
import threading
from collections import Counter

import pytest
from sqlalchemy import select

from fluenzr.services.context import AppContext
from fluenzr.services.runtime import run_worker
from fluenzr.storage.models.outbox import OutboxMessage
from tests.integration.fleet_support import imap_sessions, until, watched
from tests.integration.send_support import add_account, enqueue
from tests.support.mailservers import CA_FILE, IMAPS_PORT, SUBMISSION_PORT, create_user

pytestmark = [pytest.mark.mailserver]


def _smtp_connections() -> int:
    """Established connections from this process to the submission port."""
    out = subprocess.run(
        ["ss", "-tnpH", "state", "established", f"( dport = :{SUBMISSION_PORT} )"],
        capture_output=True,
        text=True,
        timeout=10,
    ).stdout
    return sum(1 for line in out.splitlines() if f"pid={os.getpid()}," in line)


@pytest.mark.timeout(60)
async def test_send_and_detect_open_at_most_three_connections(app: AppContext) -> None:
    sender, rcpt = create_user("conn"), create_user("conn-rcpt")
    account_id = add_account(
        app,
        email=sender.email,
        password=sender.password,
        port=SUBMISSION_PORT,
        security="starttls",
        imap_port=IMAPS_PORT,
        ca_file=CA_FILE,
    )
    peak: Counter[str] = Counter()
    sampling = threading.Event()

    def sample() -> None:
        while not sampling.is_set():
            peak["imap"] = max(peak["imap"], imap_sessions([sender])[sender.email])
            peak["smtp"] = max(peak["smtp"], _smtp_connections())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stop = asyncio.Event()
    worker = asyncio.create_task(run_worker(app, stop=stop))
    try:
        await until(lambda: watched(app, [account_id]) == {account_id})
        for number in range(3):
            enqueue(app, account_id, rcpt.email, subject=f"Conexiones {number}")
        await until(lambda: _copies_done(app) == 3, seconds=40)
        await until(lambda: imap_sessions([sender])[sender.email] == 1)  # the IDLE stays
    finally:
        stop.set()
        await asyncio.wait_for(worker, 30)
        sampling.set()
        sampler.join(20)
    assert 1 <= peak["imap"] <= 2  # the IDLE watcher, plus the Sent copy while it appends
    assert peak["smtp"] <= 1


def _copies_done(app: AppContext) -> int:
    with app.sessions() as session:
        copies = session.scalars(select(OutboxMessage.sent_copy))
        return sum(1 for copy in copies if copy == "done")
