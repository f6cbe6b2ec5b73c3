"""Accounts ("Cuentas de Email"): CRUD, Probar as a job, pause/resume."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from fluenzr.api.schemas import AccountCreate, AccountUpdate, Id, ProbarRequest
from fluenzr.http.deps import CtxDep, WorkspaceDep
from fluenzr.services import account_status, accounts, jobs, send_window
from fluenzr.services.account_views import AccountView
from fluenzr.services.jobs import JobView

router = APIRouter(prefix="/accounts", tags=["accounts"])


@router.get("", response_model=list[AccountView])
def list_accounts(ctx: CtxDep, workspace: WorkspaceDep) -> list[AccountView]:
    return accounts.list_accounts(ctx, workspace_id=workspace)


@router.post("", status_code=201, response_model=AccountView)
def create_account(body: AccountCreate, ctx: CtxDep, workspace: WorkspaceDep) -> AccountView:
    data = accounts.AccountInput(**body.changes())
    return accounts.create_account(ctx, workspace_id=workspace, data=data)


@router.get("/{account_id}", response_model=AccountView)
def get_account(account_id: Id, ctx: CtxDep, workspace: WorkspaceDep) -> AccountView:
    return accounts.get_account(ctx, workspace_id=workspace, account_id=account_id)


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
