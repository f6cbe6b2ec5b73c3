"""Bulk Probar over the API: ``POST /api/v1/accounts/test`` queues one job for many accounts.

Follow it at ``GET /api/v1/jobs/{id}`` (each finished row in ``steps``, the summary in
``result`` when done) or at ``GET /api/v1/accounts/test/{id}`` (every row, pending ones
included, and the counts by outcome so far).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from fluenzr.api.schemas import MAX_ID, Id
from fluenzr.http.deps import CtxDep, CurrentUser
from fluenzr.services import bulk_probar
from fluenzr.services.bulk_probar import BulkProbarView
from fluenzr.services.jobs import JobView

router = APIRouter(prefix="/accounts", tags=["accounts"])
AccountId = Annotated[int, Field(ge=1, le=MAX_ID)]


class BulkProbarRequest(BaseModel):
    """Which accounts: ``all``, else a ``tag``, else ``account_ids``."""

    model_config = ConfigDict(extra="forbid")

    account_ids: Annotated[list[AccountId], Field(max_length=100_000)] | None = None
    all: bool = False
    tag: Annotated[str, Field(min_length=1, max_length=bulk_probar.MAX_TAG)] | None = None
    send_test_mail: bool = Field(
        default=True, description="Send a test email to each account's own address."
    )


@router.post("/test", status_code=202, response_model=JobView)
def bulk_test(body: BulkProbarRequest, ctx: CtxDep, who: CurrentUser) -> JobView:
    """Bulk Probar: one job testing every chosen account, bounded per server host."""
    ids = bulk_probar.select_accounts(
        ctx,
        workspace_id=who.workspace_id,
        account_ids=body.account_ids,
        all_accounts=body.all,
        tag=body.tag,
    )
    return bulk_probar.start_bulk_probar(
        ctx,
        workspace_id=who.workspace_id,
        account_ids=ids,
        send_test_mail=body.send_test_mail,
        requested_by=who.user_id,
    )


@router.get("/test/{job_id}", response_model=BulkProbarView)
def bulk_test_status(job_id: Id, ctx: CtxDep, who: CurrentUser) -> BulkProbarView:
    """Every row of a bulk Probar (``pending`` until it ends) and the counts by outcome."""
    return bulk_probar.get_bulk_probar(ctx, who.workspace_id, job_id)
