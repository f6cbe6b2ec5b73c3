"""Workspace-wide pages: events (what happened), the suppression list, webhooks."""

from __future__ import annotations

import functools
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from fluenzr.errors import FluenzrError
from fluenzr.http.deps import get_ctx
from fluenzr.services import accounts, events_query, suppression, webhooks
from fluenzr.services.paging import day_bounds, page_number
from fluenzr.services.tokens import Principal
from fluenzr.storage.events import EVENT_TYPES
from fluenzr.web.deps import CsrfForm, PageUser, page
from fluenzr.web.forms import text
from fluenzr.web.render import error_text
from fluenzr.web.session import lang_of

router = APIRouter(include_in_schema=False)


@router.get("/events")
async def events_page(
    request: Request,
    who: PageUser,
    type: str = "",
    account: str = "",
    since: str = "",
    until: str = "",
) -> Response:
    """Every event, newest first, a page at a time; by type, account and dates."""
    filters = {
        "type": type if type in EVENT_TYPES else "",
        "account": account[:12],
        "since": since[:40],
        "until": until[:40],
    }
    number = request.query_params.get("page", "")

    def build() -> Response:
        ctx = get_ctx(request)
        account_id = int(account) if account.isdigit() and len(account) < 11 else None
        error = None
        try:
            start, end = day_bounds(filters["since"], filters["until"])
            found = events_query.page_events(
                ctx,
                workspace_id=who.workspace_id,
                types=[filters["type"]] if filters["type"] else None,
                account_id=account_id,
                since=start,
                until=end,
                page=page_number(number),
            )
        except FluenzrError as failed:
            field = str(failed.params.get("field") or "")
            error = error_text(failed, lang_of(request)) | {"field": field}
            found = events_query.page_events(ctx, workspace_id=who.workspace_id)
        return page(
            request,
            who,
            "events.html",
            status=400 if error else 200,
            events=found,
            types=sorted(EVENT_TYPES),
            filters=filters,
            account_choices=accounts.list_accounts(ctx, workspace_id=who.workspace_id),
            error=error,
        )

    return await run_in_threadpool(build)


def _lists(
    request: Request, who: Principal, *, error: Any = None, created: Any = None, status: int = 200
) -> Response:
    ctx = get_ctx(request)
    return page(
        request,
        who,
        "lists.html",
        status=status,
        suppressions=suppression.list_suppressions(ctx, workspace_id=who.workspace_id),
        webhooks=webhooks.list_webhooks(ctx, workspace_id=who.workspace_id),
        error=error,
        created=created,
    )


@router.get("/settings/lists")
async def lists_page(request: Request, who: PageUser) -> Response:
    return await run_in_threadpool(_lists, request, who)


async def _act(request: Request, who: Principal, form: Any, action: Any) -> Response:
    """Run a POST action; on a user error show the page with the message."""
    try:
        created = await run_in_threadpool(action, get_ctx(request), who.workspace_id, form)
    except FluenzrError as error:
        shown = error_text(error, lang_of(request)) | {"field": str(error.params.get("field", ""))}
        return await run_in_threadpool(
            functools.partial(_lists, request, who, error=shown, status=error.http_status)
        )
    if created is not None:  # a webhook's signing secret: shown once, page not cached
        return await run_in_threadpool(functools.partial(_lists, request, who, created=created))
    return RedirectResponse("/settings/lists", status_code=303)


@router.post("/settings/lists/suppressions")
async def suppression_add(request: Request, who: PageUser, form: CsrfForm) -> Response:
    def add(ctx: Any, workspace: int, form: Any) -> None:
        suppression.add_suppression(ctx, workspace_id=workspace, email=text(form, "email", 320))

    return await _act(request, who, form, add)


@router.post("/settings/lists/suppressions/remove")
async def suppression_remove(request: Request, who: PageUser, form: CsrfForm) -> Response:
    def remove(ctx: Any, workspace: int, form: Any) -> None:
        suppression.remove_suppression(ctx, workspace_id=workspace, email=text(form, "email", 320))

    return await _act(request, who, form, remove)


@router.post("/settings/lists/webhooks")
async def webhook_add(request: Request, who: PageUser, form: CsrfForm) -> Response:
    def add(ctx: Any, workspace: int, form: Any) -> Any:
        events = [e for e in form.getlist("events") if isinstance(e, str)][:20]
        return webhooks.create_webhook(
            ctx, workspace_id=workspace, url=text(form, "url", 2000), events=events or None
        )

    return await _act(request, who, form, add)


@router.post("/settings/lists/webhooks/{webhook_id}/remove")
async def webhook_remove(
    request: Request, webhook_id: int, who: PageUser, form: CsrfForm
) -> Response:
    def remove(ctx: Any, workspace: int, _form: Any) -> None:
        ident = webhook_id if 1 <= webhook_id <= 2**31 - 1 else 0
        webhooks.remove_webhook(ctx, workspace_id=workspace, webhook_id=ident)

    return await _act(request, who, form, remove)
