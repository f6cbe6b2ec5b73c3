"""Jobs (Probar runs): poll for the steps so far, or follow them as Server-Sent Events."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from fluenzr.api.schemas import Id
from fluenzr.http.deps import CtxDep, WorkspaceDep
from fluenzr.services import jobs
from fluenzr.services.jobs import JobView

router = APIRouter(prefix="/jobs", tags=["jobs"])
STREAM_LIMIT_SECONDS = 300.0


@router.get("/{job_id}", response_model=JobView)
def get_job(job_id: Id, ctx: CtxDep, workspace: WorkspaceDep) -> JobView:
    return jobs.get_job(ctx, workspace_id=workspace, job_id=job_id)


@router.get(
    "/{job_id}/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def stream_job(job_id: Id, ctx: CtxDep, workspace: WorkspaceDep) -> StreamingResponse:
    """Server-Sent Events: one ``step`` event per finished step, then ``done`` with the report."""
    first = await asyncio.to_thread(jobs.get_job, ctx, workspace_id=workspace, job_id=job_id)

    async def events() -> AsyncIterator[str]:
        sent = 0
        job = first
        waited = 0.0
        while True:
            for step in job.steps[sent:]:
                yield f"event: step\ndata: {json.dumps(step, ensure_ascii=False)}\n\n"
            sent = len(job.steps)
            if job.status == "done" or waited > STREAM_LIMIT_SECONDS:
                yield f"event: done\ndata: {job.model_dump_json()}\n\n"
                return
            await asyncio.sleep(0.3)
            waited += 0.3
            job = await asyncio.to_thread(jobs.get_job, ctx, workspace_id=workspace, job_id=job_id)

    return StreamingResponse(events(), media_type="text/event-stream")
