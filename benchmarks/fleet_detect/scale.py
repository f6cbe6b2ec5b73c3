"""(b) One detection worker watching N mailboxes (1,000, then as many as the machine allows):
RSS per mailbox and delivery→event delay, beside imapflow (Node) holding the same N IDLE
sessions in the same run against the same Dovecot.

Each size gets fresh users: a size reusing the previous size's mailboxes would find that
size's replies still there, and the new worker's first sync rightly links them (by subject and
sender) to the new sent messages — which once read as "101 events for 100 replies". Events are
counted per sent message: ``doubled`` (more than one event for one reply) and ``lost`` must be 0.

The worker connects with ``--stagger`` seconds between two connection starts to the host
(the product default, ``detect_connect_stagger``, is 0.05 s: 10,000 mailboxes would take
500 s just to start); the figure is printed with the results."""

from __future__ import annotations

import asyncio
import os
import queue
import random
import signal
import statistics
import subprocess
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from tests.support.mailservers import MailUser, create_users, deliver

from benchmarks.detect.support import (
    bench_app,
    ensure_imapflow,
    remove_users,
    rss_mb,
    start_imapflow,
)
from benchmarks.fleet_detect.setup import (
    SCALE_PORT,
    add_fleet,
    private_dovecot,
    reply,
    start_worker,
    synced,
    wait_for,
)
from fluenzr.storage.base import aware
from fluenzr.storage.models import Event
from fluenzr.storage.models.outbox import OutboxMessage


def run(sizes: list[int], *, replies: int, stagger: float = 0.05) -> list[dict[str, float]]:
    ensure_imapflow()
    made: list[MailUser] = []
    try:
        with (
            tempfile.TemporaryDirectory() as tmp,
            private_dovecot(Path(tmp) / "dovecot", sessions=max(sizes), port=SCALE_PORT),
        ):
            rows = []
            for size in sizes:
                users = create_users(f"bench-scale{size}", size)  # fresh, empty mailboxes
                made += users
                row = _one_size(Path(tmp) / f"n{size}", users, replies=replies, stagger=stagger)
                rows.append(row)
            _report(rows, stagger=stagger)
            return rows
    finally:
        remove_users(made)


def _one_size(
    tmp: Path, users: list[MailUser], *, replies: int, stagger: float
) -> dict[str, float]:
    count = len(users)
    chosen = random.Random(count).sample(range(count), min(replies, count))
    load_before = os.getloadavg()[0]
    ours = _fluenzr(tmp, users, chosen, stagger=stagger)
    ref = _imapflow(tmp, users, chosen)
    load_after = os.getloadavg()[0]
    return {"mailboxes": count, "load_before": load_before, "load_after": load_after, **ours, **ref}


def _fluenzr(
    tmp: Path, users: list[MailUser], chosen: list[int], *, stagger: float
) -> dict[str, float]:
    count = len(users)
    with bench_app(tmp / "home") as ctx:
        fleet = add_fleet(ctx, users, port=SCALE_PORT)
        by_index = list(fleet.values())
        with ctx.sessions() as session:
            rows = session.execute(select(OutboxMessage.id, OutboxMessage.message_id))
            ref_of_row = {row_id: msgid for row_id, msgid in rows}
        worker = start_worker(
            {
                "FLUENZR_HOME": str(tmp / "home"),
                "FLUENZR_LOG_LEVEL": "WARNING",
                "FLUENZR_DETECT_CONNECT_STAGGER": str(stagger),
            }
        )
        try:
            ready = wait_for(
                lambda: synced(ctx) >= count, limit=900, what="initial sync", workers=[worker]
            )
            time.sleep(3 if count >= 100 else 0.5)  # every session in IDLE
            idle_rss = rss_mb(worker.pid)
            sent = asyncio.run(_send([by_index[i] for i in chosen]))
            deadline = time.monotonic() + 60
            events: list[Event] = []
            while time.monotonic() < deadline and len(events) < len(sent):
                with ctx.sessions() as session:
                    events = list(session.scalars(select(Event).where(Event.type == "reply")))
                time.sleep(0.2)
            time.sleep(2 if count >= 100 else 0.2)  # a second event for a reply would show by now
            with ctx.sessions() as session:
                events = list(session.scalars(select(Event).where(Event.type == "reply")))
            peak = max(idle_rss, rss_mb(worker.pid))
        finally:
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(60)
            except subprocess.TimeoutExpired:
                worker.kill()
    per_reply: Counter[str] = Counter()
    first: dict[str, datetime] = {}
    for event in events:
        ref = ref_of_row.get(event.message_id or -1)
        if ref in sent:
            per_reply[ref] += 1
            created = aware(event.created_at) or event.created_at
            first[ref] = min(first.get(ref, created), created)
    delays = [(first[ref] - sent[ref]).total_seconds() for ref in first]
    return {
        "ours_ready_s": ready,
        "ours_rss_mb": idle_rss,
        "ours_peak_mb": peak,
        "ours_events": len(events),
        "ours_doubled": sum(1 for n in per_reply.values() if n > 1),
        "ours_lost": len(sent) - len(per_reply),
        "ours_other": len(events) - sum(per_reply.values()),
        "ours_p50": _pct(delays, 0.5),
        "ours_p99": _pct(delays, 0.99),
        "replies": len(sent),
    }


async def _send(targets: list[tuple[MailUser, str]]) -> dict[str, datetime]:
    sent: dict[str, datetime] = {}
    for user, ref in targets:
        sent[ref] = datetime.now(UTC)  # conservative: the SMTP transaction counts as delay
        await deliver(user.email, reply(user.email, ref), sender="prospect@example.com")
        await asyncio.sleep(0.05)
    return sent


def _imapflow(tmp: Path, users: list[MailUser], chosen: list[int]) -> dict[str, float]:
    started = time.monotonic()
    node = start_imapflow(tmp / "imapflow.json", users, port=SCALE_PORT)
    assert node.stdout is not None
    try:
        ready = time.monotonic() - started
        time.sleep(2 if len(users) >= 100 else 0.3)  # the script already waited 1.5 s
        idle_rss = rss_mb(node.pid)
        targets = {users[i].email: i for i in chosen}
        sent: dict[str, float] = {}

        async def send() -> None:
            for email in targets:
                sent[email] = time.time()
                await deliver(email, reply(email, "ref@x"), sender="prospect@example.com")
                await asyncio.sleep(0.05)

        asyncio.run(send())
        seen: dict[str, float] = {}
        lines: queue.Queue[str] = queue.Queue()
        stdout = node.stdout

        def pump() -> None:
            for line in stdout:
                lines.put(line)

        threading.Thread(target=pump, daemon=True).start()
        deadline = time.monotonic() + 60
        while len(seen) < len(sent) and (left := deadline - time.monotonic()) > 0:
            try:  # never block past the deadline: a missing notification is a lost event
                parts = lines.get(timeout=left).split()
            except queue.Empty:
                break
            if len(parts) == 3 and parts[0] == "exists" and parts[1] in sent:
                seen.setdefault(parts[1], int(parts[2]) / 1000)
        peak = max(idle_rss, rss_mb(node.pid))
    finally:
        node.send_signal(signal.SIGTERM)
        try:
            node.wait(30)
        except subprocess.TimeoutExpired:
            node.kill()
    delays = [seen[e] - sent[e] for e in seen]
    return {
        "ref_ready_s": ready,
        "ref_rss_mb": idle_rss,
        "ref_peak_mb": peak,
        "ref_events": len(delays),
        "ref_p50": _pct(delays, 0.5),
        "ref_p99": _pct(delays, 0.99),
    }


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    if q == 0.5:
        return statistics.median(ordered)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def _report(rows: list[dict[str, float]], *, stagger: float) -> None:
    print("(b) one worker watching N mailboxes (IDLE, local Dovecot) beside imapflow, same run")
    print(f"  connect stagger {stagger} s per host (product default 0.05 s)")
    for r in rows:
        n = r["mailboxes"]
        print(
            f"  N={n:,}: load average {r['load_before']:.1f} → {r['load_after']:.1f}; "
            f"FluenzR events {r['ours_events']} for {r['replies']} replies: doubled "
            f"{r['ours_doubled']}, lost {r['ours_lost']}, other {r['ours_other']} (must be 0)"
        )
        print(
            f"  N={n:,}: FluenzR RSS {r['ours_rss_mb']:.0f} MB ({r['ours_rss_mb'] * 1024 / n:.0f} "
            f"KB/mailbox), p50 {r['ours_p50'] * 1000:.0f} ms, p99 {r['ours_p99'] * 1000:.0f} ms "
            f"({r['ours_events']}/{r['replies']} events), ready in {r['ours_ready_s']:.1f} s"
        )
        print(
            f"         imapflow RSS {r['ref_rss_mb']:.0f} MB ({r['ref_rss_mb'] * 1024 / n:.0f} "
            f"KB/mailbox), p50 {r['ref_p50'] * 1000:.0f} ms, p99 {r['ref_p99'] * 1000:.0f} ms "
            f"({r['ref_events']}/{r['replies']} events), ready in {r['ref_ready_s']:.1f} s"
        )
    if len(rows) >= 2:
        a, b = rows[0], rows[-1]
        extra = b["mailboxes"] - a["mailboxes"]
        ours = (b["ours_rss_mb"] - a["ours_rss_mb"]) * 1024 / extra
        ref = (b["ref_rss_mb"] - a["ref_rss_mb"]) * 1024 / extra
        print(
            f"  marginal memory per mailbox ({a['mailboxes']:,}→{b['mailboxes']:,}): FluenzR "
            f"{ours:.0f} KB, imapflow {ref:.0f} KB   (goal: at most half imapflow's)"
        )
    print("  goal: p99 delivery→event < 2 s")
