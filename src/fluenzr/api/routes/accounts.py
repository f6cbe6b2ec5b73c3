"""Accounts ("Cuentas de Email"): CRUD, Probar as a job, pause/resume, tags, the paged list."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from fluenzr.api.schemas import AccountCreate, AccountUpdate, Id, ProbarRequest
from fluenzr.error_codes import ErrorCode
from fluenzr.errors import NotFoundError, ValidationError
from fluenzr.http.deps import CtxDep, WorkspaceDep
from fluenzr.services import (
    account_filters,
    account_listing,
    account_status,
    account_tags,
    accounts,
    jobs,
    send_window,
)
from fluenzr.services.account_views import AccountView
from fluenzr.services.jobs import JobView

router = APIRouter(prefix="/accounts", tags=["accounts"])


class HealthReason(BaseModel):
    code: str = Field(description="test_never, test_failed, bounce_high, auth_failures, …")
    points: int = Field(description="Subtracted from 100.")
    detail: dict[str, Any]


class AccountHealth(BaseModel):
    score: int = Field(ge=0, le=100)
    level: str = Field(description="good (≥ 80) | fair (≥ 50) | poor")
    reasons: list[HealthReason]


class AccountStats(BaseModel):
    sent_today: int
    sent_30d: int
    replies_30d: int
    bounces_30d: int
    bounce_rate: float | None


class AccountRow(AccountView):
    """An account with its tags, its last 30 days and its health score (docs/accounts-table.md)."""

    tags: list[str]
    stats: AccountStats
    health: AccountHealth


TOTAL_HEADER = "X-Total-Count"


@router.get(
    "",
    response_model=list[AccountRow],
    responses={
        200: {"headers": {TOTAL_HEADER: {"description": "Accounts matching the filters, in all."}}}
    },
)
def list_accounts(
    ctx: CtxDep,
    workspace: WorkspaceDep,
    search: Annotated[str, Query(max_length=200, description="Email, domain, name or host.")] = "",
    status: Annotated[str, Query(max_length=16, description="active | paused | error")] = "",
    provider: Annotated[str, Query(max_length=40)] = "",
    tag: Annotated[str, Query(max_length=80)] = "",
    test: Annotated[str, Query(max_length=8, description="Last Probar: ok | failed | never")] = "",
    reason: Annotated[str, Query(max_length=64, description="status_reason code")] = "",
    sort: Annotated[
        str,
        Query(
            max_length=20,
            description="id, email, name, provider, host, status, "
            "daily_limit, last_test, created; a leading - sorts descending",
        ),
    ] = "id",
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    per_page: Annotated[
        int | None, Query(ge=1, le=500, description="Without it, every match (as before).")
    ] = None,
) -> Response:
    """The workspace's accounts, filtered, sorted and (with ``per_page``) paged; the number of
    matches is in the ``X-Total-Count`` header."""
    chosen = account_filters.account_filter(
        search=search, status=status, provider=provider, tag=tag, test=test, reason=reason
    )
    paged = per_page is not None or page != 1
    paging = account_filters.page_request(
        page=page, per_page=(per_page or 50) if paged else 0, sort=sort
    )
    found = account_listing.account_page_dicts(
        ctx.engine, workspace_id=workspace, chosen=chosen, paging=paging, now=ctx.clock.now()
    )
    # The rows are already the public JSON (account_dict is held to AccountView by
    # tests/unit/test_account_reads.py): answering them as they are skips validating 50–10,000
    # models again, which cost more than the query (benchmarks/fleet_accounts).
    return JSONResponse(found["accounts"], headers={TOTAL_HEADER: str(found["total"])})


class TagChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    account_ids: list[Annotated[int, Field(ge=1)]] = Field(min_length=1, max_length=10_000)
    add: str | None = Field(default=None, max_length=80, description="Tag to put on them.")
    remove: str | None = Field(default=None, max_length=80, description="Tag to take off.")


class TagResult(BaseModel):
    changed: int = Field(description="Accounts that newly got (or lost) the tag.")
    tags: dict[int, list[str]] = Field(description="Each account's tags afterwards.")


def _tag_result(ctx: CtxDep, workspace: int, ids: list[int], changed: int) -> TagResult:
    tags = account_tags.tags_of_accounts(ctx.engine, workspace_id=workspace, account_ids=ids)
    return TagResult(changed=changed, tags=tags)


@router.post("/tags", response_model=TagResult)
def change_tags(body: TagChange, ctx: CtxDep, workspace: WorkspaceDep) -> TagResult:
    """Bulk: add one tag to, or remove one tag from, many accounts (exactly one of add/remove)."""
    if (body.add is None) == (body.remove is None):
        raise ValidationError(ErrorCode.INVALID_INPUT, params={"field": "tag"})
    if body.add is not None:
        changed = account_tags.add_tag(
            ctx.engine, workspace_id=workspace, account_ids=body.account_ids, tag=body.add
        )
    else:
        changed = account_tags.remove_tag(
            ctx.engine, workspace_id=workspace, account_ids=body.account_ids, tag=body.remove or ""
        )
    return _tag_result(ctx, workspace, body.account_ids, changed)


class TagBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tag: str = Field(max_length=80, examples=["cliente-a"])


@router.post("/{account_id}/tags", response_model=TagResult)
def add_account_tag(
    account_id: Id, body: TagBody, ctx: CtxDep, workspace: WorkspaceDep
) -> TagResult:
    """Put a tag on one account (no change when it has it already)."""
    changed = account_tags.add_tag(
        ctx.engine, workspace_id=workspace, account_ids=[account_id], tag=body.tag
    )
    return _tag_result(ctx, workspace, [account_id], changed)


@router.delete("/{account_id}/tags/{tag}", response_model=TagResult)
def remove_account_tag(
    account_id: Id,
    tag: Annotated[str, PathParam(max_length=80)],
    ctx: CtxDep,
    workspace: WorkspaceDep,
) -> TagResult:
    """Take a tag off one account (no change when it lacks it)."""
    changed = account_tags.remove_tag(
        ctx.engine, workspace_id=workspace, account_ids=[account_id], tag=tag
    )
    return _tag_result(ctx, workspace, [account_id], changed)


@router.post("", status_code=201, response_model=AccountView)
def create_account(body: AccountCreate, ctx: CtxDep, workspace: WorkspaceDep) -> AccountView:
    data = accounts.AccountInput(**body.changes())
    return accounts.create_account(ctx, workspace_id=workspace, data=data)


@router.get("/{account_id}", response_model=AccountRow)
def get_account(account_id: Id, ctx: CtxDep, workspace: WorkspaceDep) -> dict[str, Any]:
    found = account_listing.one_account_dict(
        ctx.engine, workspace_id=workspace, account_id=account_id, now=ctx.clock.now()
    )
    if found is None:
        raise NotFoundError(ErrorCode.ACCOUNT_NOT_FOUND, params={"id": account_id})
    return found


@router.patch("/{account_id}", response_model=AccountView)
def update_account(
    account_id: Id, body: AccountUpdate, ctx: CtxDep, workspace: WorkspaceDep
) -> AccountView:
    return accounts.update_account(
        ctx, workspace_id=workspace, account_id=account_id, changes=body.changes()
    )


@router.delete("/{account_id}", status_code=204, response_class=Response)
def delete_account(account_id: Id, ctx: CtxDep, workspace: WorkspaceDep) -> Response:
    accounts.remove_account(ctx, workspace_id=workspace, account_id=account_id)
    return Response(status_code=204)


@router.post("/{account_id}/test", status_code=202, response_model=JobView)
def probar_account(
    account_id: Id, ctx: CtxDep, workspace: WorkspaceDep, body: ProbarRequest | None = None
) -> JobView:
    """Probar: queue the step-by-step test; follow it at ``GET /api/v1/jobs/{id}``."""
    send = body.send_test_mail if body else True
    return jobs.enqueue_probar(
        ctx, workspace_id=workspace, account_id=account_id, send_test_mail=send
    )


@router.get("/{account_id}/tests/latest", response_model=JobView | None)
def latest_test(account_id: Id, ctx: CtxDep, workspace: WorkspaceDep) -> JobView | None:
    accounts.get_account(ctx, workspace_id=workspace, account_id=account_id)
    return jobs.latest_job(ctx, workspace_id=workspace, account_id=account_id)


class PauseRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    until: datetime | None = Field(
        default=None, description="Resume by itself at this time (with a UTC offset)."
    )


@router.post("/{account_id}/pause", response_model=AccountView)
def pause_account(
    account_id: Id, ctx: CtxDep, workspace: WorkspaceDep, body: PauseRequest | None = None
) -> AccountView:
    """Stop sending from this account; queued mail waits."""
    until = body.until if body else None
    return account_status.pause(ctx, workspace_id=workspace, account_id=account_id, until=until)


@router.post("/{account_id}/resume", response_model=AccountView)
def resume_account(account_id: Id, ctx: CtxDep, workspace: WorkspaceDep) -> AccountView:
    """Lift any pause (manual, provider limit, authentication failure)."""
    return account_status.resume(ctx, workspace_id=workspace, account_id=account_id)


class WindowBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    days: list[Annotated[int, Field(ge=0, le=6)]] = Field(
        min_length=1, max_length=7, description="0 = Monday … 6 = Sunday"
    )
    start: Annotated[str, Field(max_length=8, examples=["09:00"])]
    end: Annotated[str, Field(max_length=8, examples=["18:00"])]


@router.put("/{account_id}/send-window", response_model=AccountView)
def set_send_window(
    account_id: Id, body: WindowBody, ctx: CtxDep, workspace: WorkspaceDep
) -> AccountView:
    """When the account may send, in its time zone."""
    return send_window.set_window(
        ctx,
        workspace_id=workspace,
        account_id=account_id,
        days=body.days,
        start=body.start,
        end=body.end,
    )


@router.delete("/{account_id}/send-window", response_model=AccountView)
def clear_send_window(account_id: Id, ctx: CtxDep, workspace: WorkspaceDep) -> AccountView:
    """Send at any time of day."""
    return send_window.set_window(ctx, workspace_id=workspace, account_id=account_id, days=None)
