"""The suppression list: addresses never to send to again (bounces, unsubscribes, by hand)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from fluenzr.http.deps import CtxDep, WorkspaceDep
from fluenzr.services import suppression
from fluenzr.services.suppression import SuppressionView

router = APIRouter(prefix="/suppressions", tags=["suppression"])


class SuppressionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: Annotated[str, Field(min_length=1, max_length=320)]


@router.get("", response_model=list[SuppressionView])
def list_suppressions(
    ctx: CtxDep,
    workspace: WorkspaceDep,
    reason: Annotated[str | None, Query(max_length=40)] = None,
) -> list[SuppressionView]:
    return suppression.list_suppressions(ctx, workspace_id=workspace, reason=reason)


@router.post("", status_code=201, response_model=SuppressionView)
def add_suppression(
    body: SuppressionCreate, ctx: CtxDep, workspace: WorkspaceDep
) -> SuppressionView:
    return suppression.add_suppression(ctx, workspace_id=workspace, email=body.email)


@router.delete("/{email}", status_code=204, response_class=Response)
def remove_suppression(
    email: Annotated[str, Path(max_length=320)], ctx: CtxDep, workspace: WorkspaceDep
) -> Response:
    suppression.remove_suppression(ctx, workspace_id=workspace, email=email)
    return Response(status_code=204)
