"""Running Probar on many accounts at once, bounded overall and per server host.

A provider that sees 300 logins at once from one address calls it an attack. So every account
holds one slot of each server host it connects to (its SMTP host and, when set, its IMAP host)
for the whole of its test, and at most ``settings.probar_per_host_concurrency`` accounts hold a
slot of one host at a time; ``settings.bulk_probar_concurrency`` bounds the run overall. Hosts
are compared by their configured name (lower-cased, no trailing dot).

Each account's test is :func:`fluenzr.services.account_probar.run_probar` (its result stored on
the account and in the event log as for one "Probar"); one account that fails — or raises —
becomes a ``failed`` row and never stops the others. A row holds codes only, never a secret or
a server's text: pages render the message from the code in the reader's language.

Used by the job runner (:mod:`fluenzr.services.jobs`, the web and API) and in-process by the CLI.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from fluenzr.diagnose.probar import ProbarSeams
from fluenzr.errors import FluenzrError
from fluenzr.services import account_probar, bulk_jobs
from fluenzr.services.context import AppContext
from fluenzr.storage.engine import transaction
from fluenzr.storage.models import Account
from fluenzr.storage.models.users import Job

log = logging.getLogger(__name__)

KIND = "bulk_probar"
OK, THROTTLED, FAILED, PENDING = "ok", "throttled", "failed", "pending"
LEASE = timedelta(minutes=5)
HEARTBEAT_SECONDS = 60.0
OUTCOMES = (OK, THROTTLED, FAILED)


@dataclass(frozen=True)
class Target:
    """One account to test and the hosts it will connect to."""

    account_id: int
    email: str
    hosts: tuple[str, ...]


@dataclass(frozen=True)
class Row:
    """One account's outcome: ``ok``, ``throttled`` (a temporary 4xx limit) or ``failed``."""

    account_id: int
    email: str
    outcome: str
    code: str | None = None  # the error code when not ok
    step: str | None = None  # the step that failed
    duration_ms: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def host_key(host: str | None) -> str | None:
    """The name a host is counted under: ``SMTP.Example.com.`` and ``smtp.example.com`` are one."""
    key = (host or "").strip().rstrip(".").lower()
    return key or None


def targets(ctx: AppContext, *, workspace_id: int, account_ids: Sequence[int]) -> list[Target]:
    """The accounts of ``workspace_id`` among ``account_ids``, in the order given."""
    with ctx.sessions() as session:
        rows = session.execute(
            select(Account.id, Account.email, Account.smtp_host, Account.imap_host).where(
                Account.workspace_id == workspace_id, Account.id.in_(list(account_ids))
            )
        ).all()
    found = {
        row.id: Target(
            row.id,
            row.email,
            tuple(sorted({k for k in (host_key(row.smtp_host), host_key(row.imap_host)) if k})),
        )
        for row in rows
    }
    return [found[i] for i in account_ids if i in found]


class HostLimiter:
    """At most ``per_host`` holders per host and ``overall`` in total.

    Host slots are taken first, in sorted order (no two holders can wait on each other), and the
    overall slot last, so an account waiting for a busy host never keeps an idle host waiting.
    ``max_seen`` records the most holders one host had at once (tests and the benchmark read it).
    """

    def __init__(self, *, per_host: int, overall: int) -> None:
        self.per_host = per_host
        self._overall = asyncio.Semaphore(overall)
        self._hosts: dict[str, asyncio.Semaphore] = {}
        self._active: dict[str, int] = {}
        self.max_seen: dict[str, int] = {}

    @contextlib.asynccontextmanager
    async def hold(self, hosts: Iterable[str]) -> AsyncIterator[None]:
        chosen = sorted(set(hosts))
        async with contextlib.AsyncExitStack() as stack:
            for host in chosen:
                semaphore = self._hosts.setdefault(host, asyncio.Semaphore(self.per_host))
                await stack.enter_async_context(semaphore)
            await stack.enter_async_context(self._overall)
            for host in chosen:
                self._active[host] = self._active.get(host, 0) + 1
                self.max_seen[host] = max(self.max_seen.get(host, 0), self._active[host])
            try:
                yield
            finally:
                for host in chosen:
                    self._active[host] -= 1


def _row_of(target: Target, report: Any, elapsed: int) -> Row:
    error = report.error_dict()
    if error is None:
        return Row(target.account_id, target.email, OK, duration_ms=elapsed)
    outcome = THROTTLED if account_probar.temporary_throttle(error) else FAILED
    code = str(error.get("code") or "error")[:64]
    step = str(error["step"])[:64] if error.get("step") else None
    return Row(target.account_id, target.email, outcome, code, step, elapsed)


async def probe_one(
    ctx: AppContext,
    target: Target,
    *,
    workspace_id: int,
    send_test_mail: bool,
    seams: ProbarSeams | None = None,
) -> Row:
    """One account's Probar as a row; any error (ours or a bug) becomes a ``failed`` row."""
    started = time.monotonic()
    try:
        report = await account_probar.run_probar(
            ctx,
            account_id=target.account_id,
            workspace_id=workspace_id,
            send_test_mail=send_test_mail,
            seams=seams,
            bulk=True,
        )
    except FluenzrError as error:
        elapsed = int((time.monotonic() - started) * 1000)
        return Row(target.account_id, target.email, FAILED, str(error.code), None, elapsed)
    except Exception:  # one broken account must not stop the rest of the run
        log.exception("bulk Probar of account %s", target.account_id)
        elapsed = int((time.monotonic() - started) * 1000)
        return Row(target.account_id, target.email, FAILED, "internal_error", None, elapsed)
    return _row_of(target, report, int((time.monotonic() - started) * 1000))


OnRow = Callable[[Row], Awaitable[None] | None]


async def probe_all(
    ctx: AppContext,
    chosen: Sequence[Target],
    *,
    workspace_id: int,
    send_test_mail: bool,
    on_row: OnRow | None = None,
    limiter: HostLimiter | None = None,
    seams: ProbarSeams | None = None,
) -> list[Row]:
    """Test every target within the limiter's bounds; ``on_row`` as each one ends."""
    bounds = limiter or HostLimiter(
        per_host=ctx.settings.probar_per_host_concurrency,
        overall=ctx.settings.bulk_probar_concurrency,
    )

    async def one(target: Target) -> Row:
        async with bounds.hold(target.hosts):
            row = await probe_one(
                ctx, target, workspace_id=workspace_id, send_test_mail=send_test_mail, seams=seams
            )
        if on_row is not None:
            maybe = on_row(row)
            if maybe is not None:
                await maybe
        return row

    return list(await asyncio.gather(*(one(target) for target in chosen)))


def summary(outcomes: Iterable[str]) -> dict[str, int]:
    """How many rows ended each way (every outcome present, zeros included)."""
    counts = dict.fromkeys((*OUTCOMES, PENDING), 0)
    for outcome in outcomes:
        counts[outcome if outcome in counts else FAILED] += 1
    return counts


# -- the job (claimed by services.jobs) -------------------------------------------------------


def _write_rows(ctx: AppContext, job_id: int, rows: list[dict[str, Any]]) -> None:
    with transaction(ctx.sessions) as session:
        job = session.get(Job, job_id)
        if job is None:
            return
        job.steps = json.dumps(rows, ensure_ascii=False)
        job.locked_until = ctx.clock.now() + LEASE


def _extend_lease(ctx: AppContext, job_id: int) -> None:
    with transaction(ctx.sessions) as session:
        job = session.get(Job, job_id)
        if job is not None and job.status == "running":
            job.locked_until = ctx.clock.now() + LEASE


def _finish(ctx: AppContext, job_id: int, rows: list[dict[str, Any]]) -> None:
    """Mark the job done with its summary, and record the bell's event, in one transaction."""
    counts = summary(str(row.get("outcome")) for row in rows)
    with transaction(ctx.sessions) as session:
        job = session.get(Job, job_id)
        if job is None:
            return
        job.steps = json.dumps(rows, ensure_ascii=False)
        job.result = json.dumps({"ok": counts[FAILED] == 0, "total": len(rows), "summary": counts})
        job.status = "done"
        job.finished_at = ctx.clock.now()
        job.locked_by = None
        job.locked_until = None
        bulk_jobs.record_finished(
            session,
            workspace_id=job.workspace_id,
            job_id=job.id,
            kind=KIND,
            succeeded=counts[OK],
            failed=counts[FAILED] + counts[THROTTLED],
            total=len(rows),
        )


async def _heartbeat(ctx: AppContext, job_id: int, stop: asyncio.Event) -> None:
    # A host slot can be held for minutes by slow servers: the lease must outlive them.
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=HEARTBEAT_SECONDS)
        if not stop.is_set():
            await asyncio.to_thread(_extend_lease, ctx, job_id)


async def run_bulk_job(
    ctx: AppContext,
    *,
    job_id: int,
    workspace_id: int,
    options: dict[str, Any],
    seams: ProbarSeams | None = None,
) -> None:
    """Run a claimed ``bulk_probar`` job: rows written as they end, then the summary."""
    wanted = [int(i) for i in options.get("account_ids", []) if isinstance(i, int)]
    chosen = await asyncio.to_thread(targets, ctx, workspace_id=workspace_id, account_ids=wanted)
    rows: list[dict[str, Any]] = []
    lock = asyncio.Lock()  # rows end concurrently: one writer of the list at a time

    async def on_row(row: Row) -> None:
        async with lock:
            rows.append(row.to_dict())
            await asyncio.to_thread(_write_rows, ctx, job_id, list(rows))

    stop = asyncio.Event()
    beat = asyncio.create_task(_heartbeat(ctx, job_id, stop))
    try:
        await probe_all(
            ctx,
            chosen,
            workspace_id=workspace_id,
            send_test_mail=bool(options.get("send_test_mail", True)),
            on_row=on_row,
            seams=seams,
        )
    finally:
        stop.set()
        await beat
    async with lock:
        await asyncio.to_thread(_finish, ctx, job_id, list(rows))


__all__ = [
    "FAILED",
    "KIND",
    "OK",
    "OUTCOMES",
    "PENDING",
    "THROTTLED",
    "HostLimiter",
    "Row",
    "Target",
    "host_key",
    "probe_all",
    "probe_one",
    "run_bulk_job",
    "summary",
]
