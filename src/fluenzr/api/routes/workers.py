"""Workers: which sending/detection processes are alive and which mailboxes each watches."""

from __future__ import annotations

from fastapi import APIRouter

from fluenzr.http.deps import CtxDep, WorkspaceDep
from fluenzr.services import worker_health
from fluenzr.services.worker_health import WorkerView

router = APIRouter(prefix="/workers", tags=["workers"])


@router.get("", response_model=list[WorkerView])
def list_workers(ctx: CtxDep, workspace: WorkspaceDep) -> list[WorkerView]:
    """Most recent heartbeat first; ``mailbox_emails`` lists only this workspace's mailboxes."""
    return worker_health.list_workers(ctx, workspace_id=workspace)
