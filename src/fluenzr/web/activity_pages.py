"""Workspace-wide pages: events (what happened), the suppression list, webhooks."""

from __future__ import annotations

import functools
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from fluenzr.errors import FluenzrError
from fluenzr.http.deps import get_ctx
from fluenzr.services import events_query, suppression, users, webhooks
from fluenzr.services.tokens import Principal
from fluenzr.storage.events import EVENT_TYPES
from fluenzr.web.forms import text
from fluenzr.web.render import error_text, render
from fluenzr.web.session import check_csrf, lang_of, login_redirect, principal

router = APIRouter(include_in_schema=False)


def _page(request: Request, who: Principal, name: str, status: int = 200, **ctx: Any) -> Response:
    return render(
        request,
        name,
        lang=lang_of(request),
        status=status,
        user=who,
        csrf=who.csrf_token,
        workspaces=users.workspaces_of(get_ctx(request), who.user_id),
        **ctx,
    )


@router.get("/events")
async def events_page(request: Request, type: str = "") -> Response:
    who = await run_in_threadpool(principal, request)
    if who is None:
        return login_redirect(request)
    chosen = type if type in EVENT_TYPES else ""

    def build() -> Response:
        rows = events_query.list_events(
            get_ctx(request),
            workspace_id=who.workspace_id,
            types=[chosen] if chosen else None,
            limit=200,
        )
        return _page(
            request, who, "events.html", events=rows, types=sorted(EVENT_TYPES), chosen=chosen
        )

    return await run_in_threadpool(build)


def _lists(
    request: Request, who: Principal, *, error: Any = None, created: Any = None, status: int = 200
) -> Response:
    ctx = get_ctx(request)
    return _page(
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
async def lists_page(request: Request) -> Response:
    who = await run_in_threadpool(principal, request)
    if who is None:
        return login_redirect(request)
    return await run_in_threadpool(_lists, request, who)


async def _act(request: Request, action: Any) -> Response:
    """Run a POST action (CSRF-checked); on a user error show the page with the message."""
    who = await run_in_threadpool(principal, request)
    if who is None:
        return login_redirect(request)
    form = await request.form()
    check_csrf(form.get("csrf"), who.csrf_token)
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
async def suppression_add(request: Request) -> Response:
    def add(ctx: Any, workspace: int, form: Any) -> None:
        suppression.add_suppression(ctx, workspace_id=workspace, email=text(form, "email", 320))

    return await _act(request, add)


@router.post("/settings/lists/suppressions/remove")
async def suppression_remove(request: Request) -> Response:
    def remove(ctx: Any, workspace: int, form: Any) -> None:
        suppression.remove_suppression(ctx, workspace_id=workspace, email=text(form, "email", 320))

    return await _act(request, remove)


@router.post("/settings/lists/webhooks")
async def webhook_add(request: Request) -> Response:
    def add(ctx: Any, workspace: int, form: Any) -> Any:
        events = [e for e in form.getlist("events") if isinstance(e, str)][:20]
        return webhooks.create_webhook(
            ctx, workspace_id=workspace, url=text(form, "url", 2000), events=events or None
        )

    return await _act(request, add)


@router.post("/settings/lists/webhooks/{webhook_id}/remove")
async def webhook_remove(request: Request, webhook_id: int) -> Response:
    def remove(ctx: Any, workspace: int, _form: Any) -> None:
        ident = webhook_id if 1 <= webhook_id <= 2**31 - 1 else 0
        webhooks.remove_webhook(ctx, workspace_id=workspace, webhook_id=ident)

    return await _act(request, remove)
