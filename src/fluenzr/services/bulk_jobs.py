"""Finished bulk jobs (a bulk Probar, a CSV import…) as events, which the bell shows.

Every kind of bulk job records the same event when it ends, in the transaction that marks the
job done, so a notification can never announce a job that is still running nor miss one that
ended. :mod:`fluenzr.services.notifications` lists these events and mails them to the owners
who asked for email, like any other notification; pages link to the job by its kind.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from fluenzr.storage.events import record_event
from fluenzr.storage.models import Event

EVENT = "bulk_job_finished"


def record_finished(
    session: Session,
    *,
    workspace_id: int,
    job_id: int,
    kind: str,
    succeeded: int,
    failed: int,
    total: int,
) -> Event:
    """Record that job ``job_id`` of ``kind`` ended: counts only, never a row's content."""
    return record_event(
        session,
        workspace_id=workspace_id,
        type=EVENT,
        data={
            "job_id": job_id,
            "kind": kind[:32],
            "succeeded": succeeded,
            "failed": failed,
            "total": total,
        },
    )


__all__ = ["EVENT", "record_finished"]
