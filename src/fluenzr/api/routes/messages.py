"""Messages as "Envíos" shows them: pages with filters, one message (headers, events), its exact
bytes, retry; and a test message from an account."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from fluenzr.api.schemas import MAX_ID, DateQuery, Id
from fluenzr.http.deps import CtxDep, LangDep, WorkspaceDep
from fluenzr.services import outbox_views
from fluenzr.services.outbox import OutboxView
from fluenzr.services.outbox_views import MessageDetail, MessageRow
from fluenzr.services.paging import MAX_SIZE, Page, day_bounds

router = APIRouter(prefix="/messages", tags=["messages"])


@router.get("", response_model=Page[MessageRow])
def list_messages(
    ctx: CtxDep,
    workspace: WorkspaceDep,
    account_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    status: Annotated[str | None, Query(max_length=20)] = None,
    q: Annotated[str | None, Query(max_length=200, description="subject or recipient")] = None,
    since: DateQuery = None,
    until: DateQuery = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=MAX_SIZE)] = 50,
) -> Page[MessageRow]:
    start, end = day_bounds(since, until)
    return outbox_views.list_messages(
        ctx,
        workspace_id=workspace,
        account_id=account_id,
        status=status,
        query=q,
        since=start,
        until=end,
        page=page,
        per_page=per_page,
    )


class TestMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    account_id: Annotated[int, Field(ge=1, le=MAX_ID)]
    to: Annotated[str, Field(min_length=1, max_length=320)]


@router.post("/test", status_code=201, response_model=OutboxView)
def send_test(body: TestMessage, ctx: CtxDep, workspace: WorkspaceDep, lang: LangDep) -> OutboxView:
    """ "Enviar prueba a…": one short message from the account, in the caller's language."""
    return outbox_views.send_test(
        ctx, workspace_id=workspace, account_id=body.account_id, to=body.to, lang=lang
    )


@router.get("/{message_id}", response_model=MessageDetail)
def get_message(message_id: Id, ctx: CtxDep, workspace: WorkspaceDep) -> MessageDetail:
    return outbox_views.get_message(ctx, workspace_id=workspace, outbox_id=message_id)


@router.get(
    "/{message_id}/raw",
    response_class=Response,
    responses={200: {"content": {"message/rfc822": {}}, "description": "the exact bytes sent"}},
)
def get_raw(message_id: Id, ctx: CtxDep, workspace: WorkspaceDep) -> Response:
    raw = outbox_views.raw_message(ctx, workspace_id=workspace, outbox_id=message_id)
    return Response(
        raw.mime,
        media_type="message/rfc822",
        headers={"Content-Disposition": f'attachment; filename="message-{raw.outbox_id}.eml"'},
    )


@router.post("/{message_id}/retry", response_model=OutboxView)
def retry(message_id: Id, ctx: CtxDep, workspace: WorkspaceDep) -> OutboxView:
    """Send again now (deferred, failed, cancelled or set-aside messages); 409 otherwise."""
    return outbox_views.retry(ctx, workspace_id=workspace, outbox_id=message_id)
