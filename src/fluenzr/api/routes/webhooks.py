"""Webhooks: signed HTTP callbacks for events (the signing secret is shown once)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from fluenzr.api.schemas import Id
from fluenzr.http.deps import CtxDep, WorkspaceDep
from fluenzr.services import webhooks
from fluenzr.services.webhooks import CreatedWebhook, DeliveryView, WebhookView

router = APIRouter(prefix="/webhooks", tags=["webhooks"])


class WebhookCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: Annotated[str, Field(min_length=1, max_length=2000)]
    events: Annotated[list[Annotated[str, Field(max_length=40)]], Field(max_length=20)] = Field(
        default_factory=list, description="Event types; empty = every type."
    )


@router.get("", response_model=list[WebhookView])
def list_webhooks(ctx: CtxDep, workspace: WorkspaceDep) -> list[WebhookView]:
    return webhooks.list_webhooks(ctx, workspace_id=workspace)


@router.post("", status_code=201, response_model=CreatedWebhook)
def create_webhook(body: WebhookCreate, ctx: CtxDep, workspace: WorkspaceDep) -> CreatedWebhook:
    return webhooks.create_webhook(ctx, workspace_id=workspace, url=body.url, events=body.events)


@router.delete("/{webhook_id}", status_code=204, response_class=Response)
def remove_webhook(webhook_id: Id, ctx: CtxDep, workspace: WorkspaceDep) -> Response:
    webhooks.remove_webhook(ctx, workspace_id=workspace, webhook_id=webhook_id)
    return Response(status_code=204)


@router.get("/{webhook_id}/deliveries", response_model=list[DeliveryView])
def list_deliveries(
    webhook_id: Id,
    ctx: CtxDep,
    workspace: WorkspaceDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[DeliveryView]:
    return webhooks.list_deliveries(ctx, workspace_id=workspace, webhook_id=webhook_id, limit=limit)
