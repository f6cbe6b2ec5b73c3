"""P3: one worker watching 1,000 mailboxes on the local Dovecot: RSS and reply-to-event delay."""

from __future__ import annotations

import asyncio
import email.utils
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select
from tests.support.mailservers import MailUser, create_users, deliver

from benchmarks.detect.dovecot import private_dovecot
from benchmarks.detect.p2 import require_mailserver_or_exit
from benchmarks.detect.support import add_account, add_sent, bench_app, remove_users, rss_mb
from fluenzr.storage.base import aware
from fluenzr.storage.models import Event
from fluenzr.storage.models.detection import ImapSyncState
from fluenzr.storage.models.outbox import OutboxMessage


def _reply(owner: str, ref: str, sender: str) -> bytes:
    return (
        f"From: {sender}\r\nTo: {owner}\r\nSubject: Re: Idea 0 for your team\r\n"
        f"Message-ID: {email.utils.make_msgid(domain='example.com')}\r\n"
        f"In-Reply-To: <{ref}>\r\nDate: {email.utils.formatdate()}\r\n\r\nYes, call me.\r\n"
    ).encode()


def _wait_idle(ctx, count: int, worker: subprocess.Popen[bytes], limit: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < limit:
        if worker.poll() is not None:
            raise SystemExit(f"worker exited early ({worker.returncode})")
        with ctx.sessions() as session:
            ready = session.scalar(
                select(func.count()).where(ImapSyncState.last_sync_at.is_not(None))
            )
        if ready >= count:
            return time.monotonic() - started
        time.sleep(0.5)
    raise SystemExit(f"only {ready} of {count} mailboxes synced after {limit:.0f} s")


async def _send_replies(targets: list[tuple[str, str]], rate: float) -> dict[str, datetime]:
    sent: dict[str, datetime] = {}
    for owner, ref in targets:
        sent[ref] = datetime.now(UTC)  # conservative: the SMTP transaction counts as delay
        await deliver(owner, _reply(owner, ref, "prospect@example.com"), sender="p@example.com")
        await asyncio.sleep(1 / rate)
    return sent


def run(count: int = 1_000, *, replies: int = 200) -> None:
    require_mailserver_or_exit()
    users = create_users("bench-p3", count)
    try:
        return _run(users, count, replies=replies)
    finally:
        remove_users(users)


def _run(users: list[MailUser], count: int, *, replies: int) -> None:
    with (
        tempfile.TemporaryDirectory() as tmp,
        private_dovecot(Path(tmp) / "dovecot") as imap_port,
        bench_app(Path(tmp) / "home") as ctx,
    ):
        refs: dict[str, str] = {}
        for user in users:
            account_id = add_account(ctx, user, imap_port=imap_port)
            refs[user.email] = add_sent(
                ctx, account_id=account_id, sender=user.email, to=["prospect@example.com"]
            )[0]
        with ctx.sessions() as session:
            row_to_ref = {
                row_id: msgid
                for row_id, msgid in session.execute(
                    select(OutboxMessage.id, OutboxMessage.message_id)
                )
            }
        env = {
            **os.environ,
            "FLUENZR_HOME": str(Path(tmp) / "home"),
            "FLUENZR_LOG_LEVEL": "WARNING",
        }
        fluenzr = str(Path(sys.executable).with_name("fluenzr"))
        worker = subprocess.Popen([fluenzr, "worker", "--only", "detect"], env=env)
        try:
            ready_in = _wait_idle(ctx, count, worker, limit=600)
            time.sleep(3)  # every session is in IDLE now
            idle_rss = rss_mb(worker.pid)
            chosen = random.Random(7).sample(list(refs.items()), min(replies, count))
            sent = asyncio.run(_send_replies(chosen, rate=20))
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                with ctx.sessions() as session:
                    events = list(session.scalars(select(Event).where(Event.type == "reply")))
                if len(events) >= len(chosen):
                    break
                time.sleep(0.2)
            peak_rss = max(idle_rss, rss_mb(worker.pid))
        finally:
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(30)
            except subprocess.TimeoutExpired:
                worker.kill()
    delays = []
    for event in events:
        ref = row_to_ref.get(event.message_id or -1)
        if ref in sent:
            created = aware(event.created_at) or event.created_at
            delays.append((created - sent[ref]).total_seconds())
    _report(
        count,
        replies=len(sent),
        delays=delays,
        idle_rss=idle_rss,
        peak_rss=peak_rss,
        ready_in=ready_in,
    )


def _report(
    count: int,
    *,
    replies: int,
    delays: list[float],
    idle_rss: float,
    peak_rss: float,
    ready_in: float,
) -> None:
    delays.sort()
    p50 = statistics.median(delays) if delays else float("nan")
    p99 = delays[min(len(delays) - 1, int(len(delays) * 0.99))] if delays else float("nan")
    print(f"P3 one worker watching {count:,} mailboxes (IDLE, local Dovecot)")
    print(f"  initial sync of all mailboxes: {ready_in:.1f} s")
    print(f"  worker RSS idle: {idle_rss:.0f} MB, peak: {peak_rss:.0f} MB   (target < 300 MB;")
    print("    imapflow reference: ~175 MB for 1,000 IDLE sessions)")
    print(
        f"  replies: {replies} sent, {len(delays)} events; delay delivery→event "
        f"p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms   (target p99 < 5 s;"
    )
    print("    imapflow reference: p99 ~530 ms, ~500 ms of it Dovecot's own notification delay)")
