"""Bulk Probar pages: start a test of many accounts, then watch each row turn green live.

``POST /accounts/test-bulk`` (CSRF form: repeated ``account_id``, or ``all=1``, or ``tag=T``;
``no_send=1`` skips the test mails) queues one job and redirects to
``/accounts/test-bulk/{job_id}``, whose panel re-fetches itself (htmx, like the Probar panel)
until the job is done. A second start while one runs shows the running one.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from fluenzr.errors import ConflictError, NotFoundError
from fluenzr.http.deps import get_ctx
from fluenzr.services import account_import, bulk_probar
from fluenzr.services.tokens import Principal
from fluenzr.web import forms
from fluenzr.web.deps import CsrfForm, PageUser, page

router = APIRouter(include_in_schema=False)
MAX_ID = 2**31 - 1
BADGES = {"ok": "active", "throttled": "paused", "failed": "error", "pending": "untested"}
# Where a finished bulk job of each kind is shown (the bell links there); extend per kind.
JOB_PAGES = {
    bulk_probar.KIND: "/accounts/test-bulk/{id}",
    account_import.KIND: "/accounts/import/{id}",
}


def job_page(kind: str | None, job_id: int | None) -> str | None:
    """The page of a bulk job of ``kind``, for the notification's link (None when unknown)."""
    pattern = JOB_PAGES.get(kind or "")
    return pattern.format(id=job_id) if pattern and job_id else None


def _ids(values: list[Any], limit: int) -> list[int]:
    # Bounded before parsing: at most one more id than a run may hold (that one is refused).
    chosen: list[int] = []
    for value in values[: limit + 1]:
        text = str(value).strip()
        if text.isdigit() and len(text) < 11 and 1 <= int(text) <= MAX_ID:
            chosen.append(int(text))
    return chosen


def _start(request: Request, who: Principal, form: Any) -> int:
    ctx = get_ctx(request)
    tag = forms.text(form, "tag", bulk_probar.MAX_TAG).strip()
    ids = bulk_probar.select_accounts(
        ctx,
        workspace_id=who.workspace_id,
        account_ids=_ids(form.getlist("account_id"), ctx.settings.bulk_probar_max_accounts),
        all_accounts=forms.text(form, "all", 8) == "1",
        tag=tag or None,
    )
    job = bulk_probar.start_bulk_probar(
        ctx,
        workspace_id=who.workspace_id,
        account_ids=ids,
        send_test_mail=forms.text(form, "no_send", 8) != "1",
        requested_by=who.user_id,
    )
    return job.id


@router.post("/accounts/test-bulk")
async def bulk_start(request: Request, who: PageUser, form: CsrfForm) -> Response:
    try:
        job_id = await run_in_threadpool(_start, request, who, form)
    except ConflictError as running:  # a double click, or a second tab: show the run under way
        job_id = int(running.params["id"])
        return RedirectResponse(f"/accounts/test-bulk/{job_id}?already=1", status_code=303)
    return RedirectResponse(f"/accounts/test-bulk/{job_id}", status_code=303)


def _panel(request: Request, who: Principal, job_id: int, *, full: bool) -> Response:
    if not 1 <= job_id <= MAX_ID:
        raise NotFoundError()
    ctx = get_ctx(request)
    view = bulk_probar.get_bulk_probar(ctx, who.workspace_id, job_id)
    return page(
        request,
        who,
        "bulk_probar_page.html" if full else "bulk_probar_panel.html",
        bulk=view,
        badges=BADGES,
        per_host=ctx.settings.probar_per_host_concurrency,
        already=request.query_params.get("already") == "1",
    )


@router.get("/accounts/test-bulk/{job_id}")
async def bulk_page(request: Request, job_id: int, who: PageUser) -> Response:
    return await run_in_threadpool(lambda: _panel(request, who, job_id, full=True))


@router.get("/accounts/test-bulk/{job_id}/panel")
async def bulk_panel(request: Request, job_id: int, who: PageUser) -> Response:
    return await run_in_threadpool(lambda: _panel(request, who, job_id, full=False))
