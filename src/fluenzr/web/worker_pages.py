"""The Workers page (Ajustes → Workers): alive/stale/stopped, host, pid, roles, mailboxes."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from fluenzr.http.deps import get_ctx
from fluenzr.services import worker_health
from fluenzr.services.tokens import Principal
from fluenzr.web.deps import PageUser, page

router = APIRouter(include_in_schema=False)


def _page(request: Request, who: Principal) -> Response:
    ctx = get_ctx(request)
    found = worker_health.list_workers(ctx, workspace_id=who.workspace_id)
    return page(
        request,
        who,
        "workers.html",
        workers=found,
        timeout=int(worker_health.lease_timeout(ctx).total_seconds()),
    )


@router.get("/settings/workers")
async def workers_page(request: Request, who: PageUser) -> Response:
    return await run_in_threadpool(_page, request, who)
