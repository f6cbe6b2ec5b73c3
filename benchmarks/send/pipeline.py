"""The FluenzR side of the send benchmark: enqueue, then the worker until the outbox is empty."""

from __future__ import annotations

import asyncio
import resource
import time
from typing import TYPE_CHECKING

from benchmarks.databases import fresh_app

if TYPE_CHECKING:
    from benchmarks.send.__main__ import Figure
from fluenzr.core.secret import Secret
from fluenzr.sending.worker import WorkerOptions
from fluenzr.services import outbox
from fluenzr.services.account_config import AccountInput
from fluenzr.services.accounts import create_account
from fluenzr.services.context import AppContext, default_workspace_id
from fluenzr.services.runtime import sending_worker

CHUNK = 500  # messages per enqueue transaction


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _accounts(ctx: AppContext, *, port: int, count: int) -> list[int]:
    workspace = default_workspace_id(ctx.sessions)
    return [
        create_account(
            ctx,
            workspace_id=workspace,
            data=AccountInput(
                email=f"sender{n}@example.com",
                display_name="Ana Pérez",
                smtp_host="127.0.0.1",
                smtp_port=port,
                smtp_security="none",
                smtp_auth=False,  # smtp-sink offers no AUTH: the explicit "no authentication"
                password=Secret("unused"),
                daily_limit=100_000,
                hourly_limit=100_000,
                min_interval=0,
                max_interval=0,
                force=True,
            ),
        ).id
        for n in range(count)
    ]


def fluenzr_pipeline(port: int, *, accounts: int, messages: int, database: str) -> list[Figure]:
    from benchmarks.send.__main__ import BODY, Figure

    with fresh_app(database) as ctx:
        ids = _accounts(ctx, port=port, count=accounts)
        workspace = default_workspace_id(ctx.sessions)
        requests = [
            outbox.SendRequest(
                account_id=ids[i % accounts],
                to=[f"recipient{i}@example.org"],
                subject="Una pregunta rápida",
                text=BODY,
            )
            for i in range(messages)
        ]
        cpu0, t0 = _cpu(), time.perf_counter()
        for start in range(0, messages, CHUNK):
            outbox.enqueue_many(
                ctx, workspace_id=workspace, requests=requests[start : start + CHUNK]
            )
        cpu1, t1 = _cpu(), time.perf_counter()
        worker = sending_worker(ctx, WorkerOptions(poll=0.5, max_accounts=accounts))
        asyncio.run(worker.run(until_idle=True))
        cpu2, t2 = _cpu(), time.perf_counter()
        sent = outbox.list_outbox(ctx, workspace_id=workspace, status="sent", limit=messages)
        assert len(sent) == messages, f"only {len(sent)} of {messages} sent"
    label = "SQLite" if database == "sqlite" else "PostgreSQL"
    return [
        Figure(f"FluenzR {label}: enqueue + send", messages, t2 - t0, cpu2 - cpu0),
        Figure(f"FluenzR {label}:   enqueue only", messages, t1 - t0, cpu1 - cpu0),
        Figure(f"FluenzR {label}:   worker only", messages, t2 - t1, cpu2 - cpu1),
    ]
