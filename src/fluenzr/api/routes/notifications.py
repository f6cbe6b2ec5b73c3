"""Notifications (the bell): account errors, pauses, reconnection needed; email settings."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from fluenzr.api.schemas import MAX_ID
from fluenzr.http.deps import CtxDep, CurrentUser, WorkspaceDep
from fluenzr.services import notifications
from fluenzr.services.notifications import EmailSettings, NotificationView
from fluenzr.services.paging import MAX_SIZE, Page

router = APIRouter(prefix="/notifications", tags=["notifications"])


class NotificationPage(Page[NotificationView]):
    unread: int


@router.get("", response_model=NotificationPage)
def list_notifications(
    ctx: CtxDep,
    workspace: WorkspaceDep,
    who: CurrentUser,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=MAX_SIZE)] = 50,
) -> NotificationPage:
    found = notifications.list_notifications(
        ctx, workspace_id=workspace, user_id=who.user_id, page=page, per_page=per_page
    )
    unread = notifications.unread_count(ctx, workspace_id=workspace, user_id=who.user_id)
    return NotificationPage(**found.model_dump(exclude={"pages"}), unread=unread)


class ReadCursor(BaseModel):
    last_read_id: int


@router.post("/read", response_model=ReadCursor)
def mark_read(ctx: CtxDep, workspace: WorkspaceDep, who: CurrentUser) -> ReadCursor:
    """Mark every notification so far as read (for the caller only)."""
    cursor = notifications.mark_all_read(ctx, workspace_id=workspace, user_id=who.user_id)
    return ReadCursor(last_read_id=cursor)


@router.get("/email", response_model=EmailSettings)
def get_email(ctx: CtxDep, workspace: WorkspaceDep) -> EmailSettings:
    return notifications.get_email_settings(ctx, workspace_id=workspace)


class EmailChoice(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email_account_id: Annotated[int, Field(ge=1, le=MAX_ID)] | None = None


@router.put("/email", response_model=EmailSettings)
def set_email(
    body: EmailChoice, ctx: CtxDep, workspace: WorkspaceDep, who: CurrentUser
) -> EmailSettings:
    """Owners: the account that mails notifications to the owners (``null`` turns it off)."""
    return notifications.set_email_account(
        ctx, workspace_id=workspace, user_id=who.user_id, account_id=body.email_account_id
    )
