"""The notifications page (the header's bell) and the owners' email-notification setting."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from fluenzr.errors import FluenzrError
from fluenzr.http.deps import get_ctx
from fluenzr.services import accounts, notifications, users
from fluenzr.services.paging import page_number
from fluenzr.services.tokens import Principal
from fluenzr.web import bulk_probar_pages
from fluenzr.web.deps import CsrfForm, PageUser, page
from fluenzr.web.forms import text
from fluenzr.web.render import error_text
from fluenzr.web.session import lang_of

router = APIRouter(include_in_schema=False)


def _is_owner(ctx: Any, who: Principal) -> bool:
    mine = users.workspaces_of(ctx, who.user_id)
    return any(w.id == who.workspace_id and w.role == "owner" for w in mine)


def _page(request: Request, who: Principal, *, error: Any = None, status: int = 200) -> Response:
    ctx = get_ctx(request)
    found = notifications.list_notifications(
        ctx,
        workspace_id=who.workspace_id,
        user_id=who.user_id,
        page=page_number(request.query_params.get("page", "")),
    )
    # Opening the list reads it: the bell goes back to zero, the items keep their "new" mark.
    notifications.mark_all_read(ctx, workspace_id=who.workspace_id, user_id=who.user_id)
    return page(
        request,
        who,
        "notifications.html",
        status=status,
        notifications=found,
        email=notifications.get_email_settings(ctx, workspace_id=who.workspace_id),
        owner=_is_owner(ctx, who),
        account_choices=accounts.list_accounts(ctx, workspace_id=who.workspace_id),
        error=error,
        saved=request.query_params.get("saved") == "1",
        bulk_title=lambda view: notifications.bulk_title(view, lang_of(request)),
        job_page=bulk_probar_pages.job_page,
    )


@router.get("/notifications")
async def notifications_page(request: Request, who: PageUser) -> Response:
    return await run_in_threadpool(_page, request, who)


@router.post("/notifications/email")
async def notifications_email(request: Request, who: PageUser, form: CsrfForm) -> Response:
    chosen = text(form, "account_id", 12)
    account_id = int(chosen) if chosen.isdigit() and len(chosen) < 11 else None
    try:
        await run_in_threadpool(
            lambda: notifications.set_email_account(
                get_ctx(request),
                workspace_id=who.workspace_id,
                user_id=who.user_id,
                account_id=account_id,
            )
        )
    except FluenzrError as failed:
        shown = error_text(failed, lang_of(request)) | {"field": "account_id"}
        code = failed.http_status
        return await run_in_threadpool(lambda: _page(request, who, error=shown, status=code))
    return RedirectResponse("/notifications?saved=1", status_code=303)
