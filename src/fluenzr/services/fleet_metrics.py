"""The operator's metrics, computed from the database at scrape time (docs/observability.md).

Workers run in their own processes (``fluenzr worker``, on PostgreSQL on other hosts too), so a
counter in the web process would see none of their sends; Prometheus's multiprocess mode only
covers processes on one host sharing a folder. The rows every process writes anyway (outbox
states, events, accounts, mailbox leases, heartbeats) are the truth, so :class:`FleetCollector`
turns a few aggregate queries (``storage.fleet_counts``) into metric families on each scrape.
Counters (``*_total``) are counts of events ever recorded: monotonic while events are kept.

Labels are bounded: states and statuses from our own vocabularies, reasons from the
``ErrorCode`` enum (anything else reads ``other``); never an address, a host or a workspace.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from fluenzr.error_codes import ErrorCode
from fluenzr.services import worker_health
from fluenzr.storage import fleet_counts
from fluenzr.storage.models.outbox import STATUSES
from fluenzr.storage.runtime import Runtime

ACCOUNT_STATUSES = ("active", "paused", "error")
PROBAR_OUTCOMES = ("ok", "failed", "never")
_CODES = frozenset(code.value for code in ErrorCode)


def bounded(value: str | None, known: Iterable[str], *, none: str = "none") -> str:
    """A label value from a closed set: unknown text (a hand-edited row) reads ``other``."""
    if value is None or value == "":
        return none
    return value if value in known else "other"


class FleetCollector(Collector):
    """Yields every FluenzR metric family from one short read-only connection."""

    def __init__(self, ctx: Runtime) -> None:
        self.ctx = ctx

    def collect(self) -> Iterator[Metric]:
        now = self.ctx.clock.now()
        with self.ctx.engine.connect() as connection:
            outbox = fleet_counts.outbox_by_state(connection)
            outcomes = fleet_counts.delivery_outcomes(connection)
            accounts = fleet_counts.accounts_by_status(connection)
            last_probar = fleet_counts.last_probar_outcomes(connection)
            runs = fleet_counts.probar_runs(connection)
            leases = fleet_counts.mailbox_leases(connection, now=now)
            alive = fleet_counts.workers_alive(
                connection, now=now, stale_after=worker_health.lease_timeout(self.ctx)
            )
            lags = fleet_counts.delivery_lag(connection)
        yield _outbox(outbox)
        yield from _outcomes(outcomes)
        yield _accounts(accounts)
        yield _last_probar(last_probar)
        yield _probar_runs(runs)
        yield GaugeMetricFamily(
            "fluenzr_imap_sessions_open",
            "IMAP mailboxes a live worker holds a lease on (one IMAP session each).",
            value=leases.held,
        )
        yield CounterMetricFamily(
            "fluenzr_mailbox_lease_takeovers",
            "Mailbox leases taken over from a worker whose lease had expired.",
            value=leases.takeovers,
        )
        yield GaugeMetricFamily(
            "fluenzr_workers_alive",
            "Worker processes with a fresh heartbeat (not stopped, seen within the lease timeout).",
            value=alive,
        )
        yield _lag(lags)


def _gauge_by(
    name: str, documentation: str, label: str, found: dict[str, int], known: Collection[str]
) -> Metric:
    """A gauge with one sample per known value (zeros included); anything else counts as other."""
    family = GaugeMetricFamily(name, documentation, labels=[label])
    merged: dict[str, int] = dict.fromkeys(known, 0)
    for value, n in found.items():
        key = bounded(value, known)
        merged[key] = merged.get(key, 0) + n
    for value, n in merged.items():
        family.add_metric([value], n)
    return family


def _outbox(found: dict[str, int]) -> Metric:
    return _gauge_by(
        "fluenzr_outbox_messages",
        "Outbox messages by state (queue depth).",
        "state",
        found,
        STATUSES,
    )


def _outcomes(found: list[fleet_counts.ReasonCount]) -> Iterator[Metric]:
    sent = sum(item.count for item in found if item.type == "sent")
    yield CounterMetricFamily(
        "fluenzr_sends", "Messages the server accepted (sent events).", value=sent
    )
    deferrals = CounterMetricFamily(
        "fluenzr_deferrals", "Temporary failures, retried later, by reason.", labels=["reason"]
    )
    failures = CounterMetricFamily(
        "fluenzr_failures",
        "Permanent failures by reason; level=recipient: one recipient refused.",
        labels=["reason", "level"],
    )
    deferred: dict[str, int] = {}
    failed: dict[tuple[str, str], int] = {}
    for item in found:
        reason = bounded(item.reason, _CODES)
        if item.type == "deferred":
            deferred[reason] = deferred.get(reason, 0) + item.count
        elif item.type == "failed":
            key = (reason, "recipient" if item.recipient_level else "message")
            failed[key] = failed.get(key, 0) + item.count
    for reason, n in sorted(deferred.items()):
        deferrals.add_metric([reason], n)
    for (reason, level), n in sorted(failed.items()):
        failures.add_metric([reason, level], n)
    yield deferrals
    yield failures


def _accounts(found: dict[str, int]) -> Metric:
    return _gauge_by("fluenzr_accounts", "Accounts by status.", "status", found, ACCOUNT_STATUSES)


def _last_probar(found: dict[str, int]) -> Metric:
    family = GaugeMetricFamily(
        "fluenzr_accounts_last_probar",
        "Accounts by the outcome of their last Probar (never: not tested yet).",
        labels=["outcome"],
    )
    for outcome in PROBAR_OUTCOMES:
        family.add_metric([outcome], found.get(outcome, 0))
    return family


def _probar_runs(found: dict[tuple[str, str | None], int]) -> Metric:
    family = CounterMetricFamily(
        "fluenzr_probar_runs",
        "Probar runs by outcome and the error code of a failed one.",
        labels=["outcome", "code"],
    )
    merged: dict[tuple[str, str], int] = {}
    for (outcome, code), n in found.items():
        key = (outcome, bounded(code, _CODES))
        merged[key] = merged.get(key, 0) + n
    for (outcome, code), n in sorted(merged.items()):
        family.add_metric([outcome, code], n)
    return family


def _lag(found: list[fleet_counts.LagHistogram]) -> Metric:
    family = HistogramMetricFamily(
        "fluenzr_delivery_to_event_seconds",
        "Seconds from our delivery of a message to the event detection recorded about it "
        "(reply, auto_reply, bounce, complaint, unsubscribe).",
        labels=["kind"],
    )
    for item in found:
        buckets = [
            (_bound(bound), float(n))
            for bound, n in zip(fleet_counts.LAG_BUCKETS, item.buckets, strict=True)
        ]
        buckets.append(("+Inf", float(item.count)))
        family.add_metric(
            [bounded(item.kind, fleet_counts.DETECTED_KINDS)], buckets, sum_value=item.total
        )
    return family


def _bound(value: float) -> str:
    return repr(float(value))


def metrics_registry(ctx: Runtime) -> CollectorRegistry:
    """A registry of its own per app (tests build many apps; the global one would be shared)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(FleetCollector(ctx))
    return registry
