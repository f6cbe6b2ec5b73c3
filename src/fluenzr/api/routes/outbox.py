"""Outbox: enqueue mail to send through an account, list it, cancel what has not gone yet."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Header, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from fluenzr.api.schemas import MAX_ID, Id
from fluenzr.http.deps import CtxDep, WorkspaceDep
from fluenzr.services import outbox
from fluenzr.services.outbox import OutboxView, SendRequest

router = APIRouter(prefix="/outbox", tags=["outbox"])
Address = Annotated[str, Field(min_length=1, max_length=400)]


class OutboxCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    account_id: Annotated[int, Field(ge=1, le=MAX_ID)]
    to: Annotated[list[Address], Field(min_length=1, max_length=100)]
    cc: Annotated[list[Address], Field(max_length=100)] = []
    subject: Annotated[str, Field(max_length=998)]
    text: Annotated[str, Field(max_length=1_000_000)]
    html: Annotated[str, Field(max_length=2_000_000)] | None = None
    reply_to: Address | None = None
    in_reply_to: Annotated[str, Field(max_length=998)] | None = None
    references: Annotated[list[Annotated[str, Field(max_length=998)]], Field(max_length=50)] = []
    not_before: datetime | None = Field(
        default=None, description="Not before this time; without an offset: the account's zone."
    )
    stop_on_reply: bool = False
    unsubscribe: Annotated[list[Address], Field(max_length=5)] = []
    one_click: bool = False

    def request(self) -> SendRequest:
        return SendRequest(
            account_id=self.account_id,
            to=tuple(self.to),
            cc=tuple(self.cc),
            subject=self.subject,
            text=self.text,
            html=self.html,
            reply_to=self.reply_to,
            in_reply_to=self.in_reply_to,
            references=tuple(self.references),
            not_before=self.not_before,
            stop_on_reply=self.stop_on_reply,
            unsubscribe=tuple(self.unsubscribe),
            one_click=self.one_click,
        )


IdempotencyKey = Annotated[
    str | None,
    Header(
        description=(
            "Retry safely: the same key with the same body returns the message the first "
            "request created (201, header Idempotent-Replayed: true) instead of a second one; "
            "with a different body 422, while the first is still in progress 409. Scoped to the "
            "workspace, kept 24 h. 1-255 printable ASCII characters, quoted or bare."
        )
    ),
]


@router.post("", status_code=201, response_model=OutboxView)
def enqueue(
    body: OutboxCreate,
    ctx: CtxDep,
    workspace: WorkspaceDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> OutboxView:
    result = outbox.enqueue_once(
        ctx, workspace_id=workspace, request=body.request(), idempotency_key=idempotency_key
    )
    if result.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return result.view


@router.get("", response_model=list[OutboxView])
def list_outbox(
    ctx: CtxDep,
    workspace: WorkspaceDep,
    account_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    status: Annotated[str | None, Query(max_length=20)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[OutboxView]:
    return outbox.list_outbox(
        ctx, workspace_id=workspace, account_id=account_id, status=status, limit=limit
    )


@router.get("/{outbox_id}", response_model=OutboxView)
def get_message(outbox_id: Id, ctx: CtxDep, workspace: WorkspaceDep) -> OutboxView:
    return outbox.get_message(ctx, workspace_id=workspace, outbox_id=outbox_id)


@router.post("/{outbox_id}/cancel", response_model=OutboxView)
def cancel(outbox_id: Id, ctx: CtxDep, workspace: WorkspaceDep) -> OutboxView:
    return outbox.cancel(ctx, workspace_id=workspace, outbox_id=outbox_id)
