"""`./dev bench fleet_scheduler [--accounts 10000] [--per-account 10] [--db sqlite postgres]
[--hours 24] [--smoke]`.

The sending engine's scheduler at fleet size (issue 13): 10,000 accounts with pacing on (daily
and hourly caps, min/max spacing, windows, warm-up, four time zones) and 100,000 queued
messages. Figures, each beside a reference measured in the same run:

- enqueue rate through the outbox service (validation, MIME, insert) — reference: a plain
  executemany INSERT of as many rows;
- time to pick the next due batch: the engine's real claim round (``sending.leases.claim``,
  up to 100 accounts, the worker's default) and its due-accounts SELECT — reference: that
  SELECT hand-written;
- a simulated day (a fake clock injected through ``ctx.clock``): what the engine sends, and the
  proof that no cap was exceeded (exit status 1 if one was);
- ``/metrics`` scrape time at that size — reference: one ``GROUP BY`` over the outbox.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from prometheus_client import generate_latest
from sqlalchemy import func, insert, select, text

from benchmarks.databases import fresh_app
from benchmarks.fleet_scheduler import scenario
from fluenzr.sending import leases
from fluenzr.services import worker_health
from fluenzr.services.context import AppContext
from fluenzr.services.fleet_metrics import metrics_registry
from fluenzr.storage import fleet_counts
from fluenzr.storage.engine import transaction
from fluenzr.storage.models import Event
from fluenzr.storage.models.outbox import OutboxMessage


def _ms(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return f"p50 {statistics.median(ordered) * 1000:8.1f} ms   p95 {p95 * 1000:8.1f} ms"


def _add_replies(ctx: AppContext, limit: int) -> int:
    """Replies to some sent messages (the lag histogram has rows to bucket)."""
    with ctx.sessions() as session:
        sent = session.execute(
            select(
                OutboxMessage.id,
                OutboxMessage.workspace_id,
                OutboxMessage.account_id,
                OutboxMessage.sent_at,
            )
            .where(OutboxMessage.sent_at.is_not(None))
            .limit(limit)
        ).all()
    rows = [
        {
            "workspace_id": row.workspace_id,
            "account_id": row.account_id,
            "type": "reply",
            "message_id": row.id,
            "data": "{}",
            "created_at": row.sent_at + timedelta(minutes=5 + n % 600),
        }
        for n, row in enumerate(sent)
    ]
    if rows:
        with transaction(ctx.sessions) as session:
            session.execute(insert(Event), rows)
    return len(rows)


def _scrape_times(ctx: AppContext, rounds: int) -> tuple[list[float], list[float], int]:
    registry = metrics_registry(ctx)
    scrapes, size = [], 0
    for _ in range(rounds):
        started = time.perf_counter()
        size = len(generate_latest(registry))
        scrapes.append(time.perf_counter() - started)
    now = ctx.clock.now()
    parts: dict[str, Callable[[Any], object]] = {
        "outbox": fleet_counts.outbox_by_state,
        "outcomes": fleet_counts.delivery_outcomes,
        "accounts": fleet_counts.accounts_by_status,
        "probar": fleet_counts.last_probar_outcomes,
        "probar runs": fleet_counts.probar_runs,
        "leases": lambda c: fleet_counts.mailbox_leases(c, now=now),
        "workers": lambda c: fleet_counts.workers_alive(
            c, now=now, stale_after=worker_health.lease_timeout(ctx)
        ),
        "lag": fleet_counts.delivery_lag,
    }
    with ctx.engine.connect() as connection:
        shares = []
        for name, read in parts.items():
            started = time.perf_counter()
            read(connection)
            shares.append(f"{name} {(time.perf_counter() - started) * 1000:.1f}")
    print("/metrics queries, ms each:    " + ", ".join(shares))
    reference = []
    query = text("SELECT status, count(*) FROM outbox_messages GROUP BY status")
    with ctx.engine.connect() as connection:
        for _ in range(rounds):
            started = time.perf_counter()
            connection.execute(query).all()
            reference.append(time.perf_counter() - started)
    return scrapes, reference, size


def run(
    database: str, *, accounts: int, per_account: int, hours: float, rounds: int, enqueue: int
) -> bool:
    label = "SQLite" if database == "sqlite" else "PostgreSQL"
    print(f"\n== {label}: {accounts:,} accounts, {accounts * per_account:,} queued messages")
    with fresh_app(database) as ctx:
        clock = scenario.SimClock(scenario.START)
        ctx.clock = clock
        ids = scenario.add_accounts(ctx, accounts)
        batch = scenario.requests(ids, per_account)
        # The first ``enqueue`` messages through the service; the rest of the queue by plain
        # INSERTs (the reference): the rate is per message, the queue is full either way.
        sample, rest = batch[:enqueue], batch[enqueue:]
        seconds = scenario.enqueue_all(ctx, sample)
        reference = scenario.raw_insert(ctx, rest or sample, keep=bool(rest))
        print(
            f"enqueue (outbox service)      {len(sample) / seconds:10,.0f} msg/s"
            f" ({len(sample):,} msgs)   reference raw INSERT"
            f" {len(rest or sample) / reference:10,.0f} rows/s ({len(rest or sample):,} rows)"
        )
        now = scenario.START + timedelta(hours=9)  # windows open, nothing sent yet
        claims = scenario.time_claim(ctx, now=now, rounds=rounds)
        raw = scenario.time_raw_pick(ctx, now=now, rounds=rounds)
        with ctx.sessions() as session:
            picks = []
            for _ in range(rounds):
                started = time.perf_counter()
                leases.due_accounts(session, now=now, busy=(), limit=100)
                picks.append(time.perf_counter() - started)
        print(f"pick: claim round (100 acc.)  {_ms(claims)}   (first round: state rows created)")
        print(f"pick: due-accounts query      {_ms(picks)}   reference raw SELECT {_ms(raw)}")

        day = scenario.simulate(ctx, clock=clock, hours=hours)
        verdict = scenario.verify(ctx, day, hours=hours)
        print(
            f"simulated {hours:g} h: {day.rounds:,} claim rounds in {day.seconds:.1f} s;"
            f" {verdict.sends:,} sent from {verdict.accounts_served:,} of {accounts:,} accounts"
            f" (the caps allow {verdict.allowed_today:,} of the queue on day one)"
        )
        if verdict.violations:
            print(f"CAPS EXCEEDED: {len(verdict.violations)} violations, e.g.:")
            for line in verdict.violations[:10]:
                print("  " + line)
        else:
            print(
                "caps: none exceeded (daily incl. warm-up, hourly, window, min gap;"
                " every reserved gap within [min_interval, max_interval])"
            )

        steady = scenario.time_claim(ctx, now=clock.now(), rounds=rounds)
        print(f"pick: claim round, after it   {_ms(steady)}   (at the end: state rows exist)")

        replies = _add_replies(ctx, 1000)
        with ctx.sessions() as session:
            rows = session.scalar(select(func.count()).select_from(OutboxMessage))
            events = session.scalar(select(func.count()).select_from(Event))
        scrapes, reference_scrape, size = _scrape_times(ctx, rounds)
        print(
            f"/metrics scrape ({rows:,} outbox rows, {events:,} events incl. {replies} replies,"
            f" {size:,} bytes)\n"
            f"                              {_ms(scrapes)}"
            f"   reference GROUP BY status {_ms(reference_scrape)}"
        )
        return not verdict.violations


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="./dev bench fleet_scheduler")
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--per-account", type=int, default=10)
    parser.add_argument("--db", nargs="+", choices=["sqlite", "postgres"], default=None)
    parser.add_argument("--hours", type=float, default=24.0)
    parser.add_argument("--rounds", type=int, default=20, help="repetitions of each timing")
    parser.add_argument(
        "--enqueue", type=int, default=10_000, help="messages enqueued through the service"
    )
    parser.add_argument("--smoke", action="store_true", help="every part at a tiny size")
    args = parser.parse_args(argv)
    if args.smoke:
        args.accounts, args.per_account, args.rounds, args.enqueue = 12, 2, 2, 12
    ok = True
    for database in args.db or ["sqlite", "postgres"]:
        ok = (
            run(
                database,
                accounts=args.accounts,
                per_account=args.per_account,
                hours=args.hours,
                rounds=args.rounds,
                enqueue=args.enqueue,
            )
            and ok
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
