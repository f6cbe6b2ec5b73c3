"""Worker heartbeats: which sending/detection processes are alive (one row per process).

A worker writes its row when it starts, refreshes ``heartbeat_at`` every few seconds and sets
``stopped_at`` on a clean exit; a killed worker's row just goes stale. Detection counts the live
rows with the ``detect`` role to compute each worker's fair share of the IMAP mailboxes, and the
Workers page and ``GET /api/v1/workers`` show them. Rows are never deleted by a worker: a stale
row is history an operator may want to see (``prune`` drops old stopped or stale rows).
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Collection
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from fluenzr.storage.models.fleet import WorkerHeartbeat

DETECT = "detect"
SEND = "send"


def new_worker_id() -> str:
    """``hostname:pid:random`` — unique per process, readable in the Workers page."""
    host = socket.gethostname()[:80]
    return f"{host}:{os.getpid()}:{secrets.token_hex(3)}"


def beat(session: Session, *, worker_id: str, roles: Collection[str], now: datetime) -> None:
    """Insert this worker's row, or refresh it (one statement: safe beside other workers)."""
    host, _, rest = worker_id.partition(":")
    pid_text = rest.partition(":")[0]
    values = {
        "id": worker_id,
        "hostname": host or socket.gethostname()[:255],
        "pid": int(pid_text) if pid_text.isdigit() else os.getpid(),
        "roles": ",".join(sorted(roles))[:100],
        "started_at": now,
        "heartbeat_at": now,
        "stopped_at": None,
    }
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(WorkerHeartbeat).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=["id"], set_={"heartbeat_at": now, "stopped_at": None}
    )
    session.execute(statement)


def stopped(session: Session, *, worker_id: str, now: datetime) -> None:
    session.execute(
        update(WorkerHeartbeat)
        .where(WorkerHeartbeat.id == worker_id)
        .values(stopped_at=now, heartbeat_at=now)
    )


def alive_filter(now: datetime, stale_after: timedelta) -> tuple[ColumnElement[bool], ...]:
    return (WorkerHeartbeat.stopped_at.is_(None), WorkerHeartbeat.heartbeat_at > now - stale_after)


def live_count(session: Session, *, now: datetime, stale_after: timedelta, role: str) -> int:
    """Workers alive (fresh heartbeat, not stopped) that carry ``role``."""
    query = select(func.count()).where(
        *alive_filter(now, stale_after), WorkerHeartbeat.roles.contains(role)
    )
    return int(session.scalar(query) or 0)


def live_ids(session: Session, *, now: datetime, stale_after: timedelta, role: str) -> list[str]:
    """Ids of the live workers carrying ``role``, sorted (every worker sees the same order)."""
    query = select(WorkerHeartbeat.id).where(
        *alive_filter(now, stale_after), WorkerHeartbeat.roles.contains(role)
    )
    return sorted(session.scalars(query))


def prune(session: Session, *, now: datetime, older_than: timedelta) -> int:
    """Forget rows whose last sign of life is older than ``older_than``."""
    result = session.execute(
        delete(WorkerHeartbeat).where(WorkerHeartbeat.heartbeat_at < now - older_than)
    )
    return int(getattr(result, "rowcount", 0) or 0)
