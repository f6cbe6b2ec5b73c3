"""(a) 3 detection workers on PostgreSQL share N mailboxes on the local Dovecot: IMAP
connections per mailbox as Dovecot counts them (must be 1), time to take over the mailboxes of
a worker killed with -9, replies delivered during the takeover lost or doubled (must be 0)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import tempfile
import time
from collections import Counter
from pathlib import Path

import email_validator
from sqlalchemy import func, select
from tests.support.mailservers import create_users, deliver
from tests.support.services import fresh_pg_database

from benchmarks.detect.support import remove_users
from benchmarks.fleet_detect.setup import (
    add_fleet,
    owners,
    private_dovecot,
    reply,
    sessions_per_user,
    start_worker,
    synced,
    wait_for,
)
from fluenzr.config import load_settings
from fluenzr.services.context import open_app
from fluenzr.storage.models import Event
from fluenzr.storage.models.fleet import MailboxLease


def run(count: int, *, workers: int, lease_ttl: float, replies: int) -> dict[str, float]:
    email_validator.TEST_ENVIRONMENT = True  # accounts on the reserved .test domain
    users = create_users("bench-fleet", count)
    try:
        with tempfile.TemporaryDirectory() as tmp, fresh_pg_database() as url:
            return _run(
                Path(tmp), url, users, workers=workers, lease_ttl=lease_ttl, replies=replies
            )
    finally:
        remove_users(users)


def _run(tmp: Path, url: str, users, *, workers: int, lease_ttl: float, replies: int):
    count = len(users)
    ctx = open_app(load_settings(home=tmp / "home", database_url=url))
    procs = []
    try:
        with private_dovecot(tmp / "dovecot", sessions=count * 2) as config:
            fleet = add_fleet(ctx, users)
            env = {
                "FLUENZR_HOME": str(tmp / "home"),
                "FLUENZR_DATABASE_URL": url,
                "FLUENZR_DETECT_LEASE_TTL": str(lease_ttl),
                "FLUENZR_LOG_LEVEL": "WARNING",
            }
            procs = [start_worker(env) for _ in range(workers)]
            ready = wait_for(
                lambda: (
                    synced(ctx) >= count
                    and len(owners(ctx)) == count
                    and len(set(owners(ctx).values())) == workers
                ),
                limit=600,
                what="every mailbox synced and shared",
                workers=procs,
            )
            time.sleep(min(lease_ttl, 3))  # sessions settle in IDLE
            per_user = sessions_per_user(config)
            emails = {user.email for user, _ in fleet.values()}
            counts = Counter(per_user.get(e, 0) for e in emails)
            shares = Counter(owners(ctx).values())
            victim_id, _ = shares.most_common(1)[0]
            victim_boxes = {a for a, o in owners(ctx).items() if o == victim_id}
            victim = next(p for p in procs if f":{p.pid}:" in victim_id)
            targets = sorted(victim_boxes)[: max(1, min(replies, len(victim_boxes)))]
            with ctx.sessions() as session:
                before = int(session.scalar(select(func.sum(MailboxLease.takeovers))) or 0)
            killed = time.monotonic()
            victim.send_signal(signal.SIGKILL)
            victim.wait(10)
            asyncio.run(_deliver([fleet[a] for a in targets]))
            survivors = [p for p in procs if p is not victim]
            took = wait_for(
                lambda: victim_boxes <= {a for a, o in owners(ctx).items() if o != victim_id},
                limit=lease_ttl * 10 + 60,
                what="takeover",
                workers=survivors,
            )
            took_at = time.monotonic() - killed
            # Not fatal: a reply still missing after the limit is reported as lost.
            with contextlib.suppress(SystemExit):
                wait_for(
                    lambda: _replies(ctx, targets) >= len(targets),
                    limit=300,
                    what="replies detected",
                    workers=survivors,
                )
            time.sleep(min(lease_ttl, 3))  # a duplicate would have shown up by now
            events = _events_per_account(ctx, targets)
            after = sessions_per_user(config)
            after_counts = Counter(after.get(e, 0) for e in emails)
            with ctx.sessions() as session:
                total = int(session.scalar(select(func.sum(MailboxLease.takeovers))) or 0)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(30)
            except Exception:
                proc.kill()
        ctx.close()
    lost = sum(1 for a in targets if events.get(a, 0) == 0)
    doubled = sum(1 for a in targets if events.get(a, 0) > 1)
    figures = {
        "mailboxes": count,
        "ready_s": ready,
        "conn_min": min(counts),
        "conn_max": max(counts),
        "conn_not_one": sum(n for c, n in counts.items() if c != 1),
        "after_conn_max": max(after_counts),
        "after_conn_not_one": sum(n for c, n in after_counts.items() if c != 1),
        "victim_boxes": len(victim_boxes),
        "takeover_s": took_at,
        "takeover_wait_s": took,
        "takeovers": total - before,
        "replies": len(targets),
        "lost": lost,
        "doubled": doubled,
        "lease_ttl": lease_ttl,
    }
    _report(figures, workers=workers)
    return figures


async def _deliver(targets) -> None:
    for user, ref in targets:
        await deliver(user.email, reply(user.email, ref), sender="prospect@example.com")


def _replies(ctx, targets) -> int:
    return sum(_events_per_account(ctx, targets).values())


def _events_per_account(ctx, targets) -> Counter[int]:
    with ctx.sessions() as session:
        rows = session.scalars(
            select(Event.account_id).where(Event.type == "reply", Event.account_id.in_(targets))
        )
        return Counter(int(a) for a in rows if a is not None)


def _report(f: dict[str, float], *, workers: int) -> None:
    print(f"(a) {workers} detection workers on PostgreSQL, {f['mailboxes']:,} mailboxes")
    print(f"  every mailbox synced and leased in {f['ready_s']:.1f} s")
    print(
        f"  IMAP connections per mailbox (doveadm who): min {f['conn_min']}, max {f['conn_max']}, "
        f"mailboxes with other than 1: {f['conn_not_one']}   (must be 1)"
    )
    print(
        f"  kill -9 of the worker owning {f['victim_boxes']} mailboxes: all taken over after "
        f"{f['takeover_s']:.1f} s (lease timeout {f['lease_ttl']:.0f} s; "
        f"{f['takeovers']} takeovers counted)"
    )
    print(
        f"  {f['replies']} replies delivered right after the kill: lost {f['lost']}, "
        f"doubled {f['doubled']}   (must be 0, 0)"
    )
    print(
        f"  after the takeover: max {f['after_conn_max']} connection per mailbox, "
        f"{f['after_conn_not_one']} mailboxes with other than 1"
    )
