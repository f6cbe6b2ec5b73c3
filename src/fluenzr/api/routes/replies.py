"""Detected replies across accounts, newest first, and FluenzR's own read/handled marks."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict

from fluenzr.api.schemas import MAX_ID, DateQuery, Id
from fluenzr.http.deps import CtxDep, CurrentUser, WorkspaceDep
from fluenzr.services import replies
from fluenzr.services.paging import MAX_SIZE, Page, day_bounds
from fluenzr.services.replies import ReplyView

router = APIRouter(prefix="/replies", tags=["replies"])
ClassQuery = Annotated[
    str | None, Query(alias="class", max_length=20, description="reply, auto_reply, unsubscribe")
]


@router.get("", response_model=Page[ReplyView])
def list_replies(
    ctx: CtxDep,
    workspace: WorkspaceDep,
    account_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    reply_class: ClassQuery = None,
    state: Annotated[str | None, Query(max_length=20, description="unread, open, handled")] = None,
    since: DateQuery = None,
    until: DateQuery = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=MAX_SIZE)] = 50,
) -> Page[ReplyView]:
    start, end = day_bounds(since, until)
    return replies.list_replies(
        ctx,
        workspace_id=workspace,
        account_id=account_id,
        reply_class=reply_class,
        state=state,
        since=start,
        until=end,
        page=page,
        per_page=per_page,
    )


class ReplyMarks(BaseModel):
    model_config = ConfigDict(extra="forbid")

    read: bool | None = None
    handled: bool | None = None


@router.patch("/{reply_id}", response_model=ReplyView)
def mark_reply(
    reply_id: Id, body: ReplyMarks, ctx: CtxDep, workspace: WorkspaceDep, who: CurrentUser
) -> ReplyView:
    """Set ``read`` / ``handled`` (stored by FluenzR; the mailbox's flags are never touched)."""
    return replies.mark(
        ctx,
        workspace_id=workspace,
        reply_id=reply_id,
        user_id=who.user_id,
        read=body.read,
        handled=body.handled,
    )
