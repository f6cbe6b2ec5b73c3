"""Pages of "Envíos" (the outbox) and "Respuestas" (detected replies), and the account page's
"Enviar prueba a…" action."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from fluenzr.errors import FluenzrError, NotFoundError
from fluenzr.http.deps import get_ctx
from fluenzr.services import accounts, outbox, outbox_views, replies
from fluenzr.services.paging import day_bounds, page_number
from fluenzr.services.tokens import Principal
from fluenzr.storage.models.outbox import STATUSES
from fluenzr.web.deps import CsrfForm, PageUser, page
from fluenzr.web.forms import text
from fluenzr.web.render import error_text
from fluenzr.web.session import lang_of

router = APIRouter(include_in_schema=False)
_BACK = re.compile(r"/replies(\?[A-Za-z0-9_=&%.+-]{0,400})?")
MAX_ID = 2**31 - 1


def _id(value: int) -> int:
    if not 1 <= value <= MAX_ID:
        raise NotFoundError()
    return value


def _account_filter(value: str) -> int | None:
    return int(value) if value.isdigit() and 1 <= int(value) <= MAX_ID else None


def _shown(error: FluenzrError, lang: str) -> dict[str, str]:
    return error_text(error, lang) | {"field": str(error.params.get("field") or "")}


def _filtered(
    fetch: Callable[..., Any], lang: str, *, since: str, until: str, **filters: Any
) -> tuple[Any, dict[str, str] | None]:
    """One page of ``fetch`` (a list service bound to its workspace) with the typed filters;
    on a filter the service refuses, its first unfiltered page and the error to show."""
    try:
        start, end = day_bounds(since, until)
        return fetch(since=start, until=end, **filters), None
    except FluenzrError as failed:
        return fetch(page=1), _shown(failed, lang)


def _account_choices(ctx: Any, workspace_id: int) -> list[Any]:
    return list(accounts.list_accounts(ctx, workspace_id=workspace_id))


@router.get("/outbox")
async def outbox_page(
    request: Request,
    who: PageUser,
    account: str = "",
    status: str = "",
    q: str = "",
    since: str = "",
    until: str = "",
) -> Response:
    filters = {
        "account": account[:12],
        "status": status if status in STATUSES else "",
        "q": q[:200],
        "since": since[:40],
        "until": until[:40],
    }
    number = page_number(request.query_params.get("page", ""))

    def build() -> Response:
        ctx = get_ctx(request)
        found, error = _filtered(
            functools.partial(outbox_views.list_messages, ctx, workspace_id=who.workspace_id),
            lang_of(request),
            since=filters["since"],
            until=filters["until"],
            account_id=_account_filter(filters["account"]),
            status=filters["status"] or None,
            query=filters["q"] or None,
            page=number,
        )
        return page(
            request,
            who,
            "outbox.html",
            status=400 if error else 200,
            messages=found,
            filters=filters,
            statuses=STATUSES,
            account_choices=_account_choices(ctx, who.workspace_id),
            error=error,
            notice=request.query_params.get("done", "")[:20],
        )

    return await run_in_threadpool(build)


def _message_page(
    request: Request, who: Principal, outbox_id: int, *, error: Any = None, status: int = 200
) -> Response:
    ctx = get_ctx(request)
    message = outbox_views.get_message(ctx, workspace_id=who.workspace_id, outbox_id=outbox_id)
    return page(
        request,
        who,
        "outbox_message.html",
        status=status,
        message=message,
        error=error,
        notice=request.query_params.get("done", "")[:20],
    )


@router.get("/outbox/{outbox_id}")
async def message_page(request: Request, outbox_id: int, who: PageUser) -> Response:
    return await run_in_threadpool(_message_page, request, who, _id(outbox_id))


@router.get("/outbox/{outbox_id}/raw")
async def message_raw(request: Request, outbox_id: int, who: PageUser) -> Response:
    """The exact bytes sent, as a ``.eml`` download (never rendered as a page)."""
    raw = await run_in_threadpool(
        lambda: outbox_views.raw_message(
            get_ctx(request), workspace_id=who.workspace_id, outbox_id=_id(outbox_id)
        )
    )
    return Response(
        raw.mime,
        media_type="message/rfc822",
        headers={
            "Content-Disposition": f'attachment; filename="message-{raw.outbox_id}.eml"',
            "Cache-Control": "no-store",
        },
    )


@router.post("/outbox/{outbox_id}/{action}")
async def message_action(
    request: Request, outbox_id: int, action: str, who: PageUser, form: CsrfForm
) -> Response:
    """retry (send again now) and cancel; back to the list or the message page."""
    outbox_id = _id(outbox_id)
    ctx = get_ctx(request)
    if action not in ("retry", "cancel"):
        raise NotFoundError()
    func = outbox_views.retry if action == "retry" else outbox.cancel
    try:
        await run_in_threadpool(
            lambda: func(ctx, workspace_id=who.workspace_id, outbox_id=outbox_id)
        )
    except FluenzrError as failed:
        if isinstance(failed, NotFoundError):
            raise
        shown, code = _shown(failed, lang_of(request)), failed.http_status
        return await run_in_threadpool(
            lambda: _message_page(request, who, outbox_id, error=shown, status=code)
        )
    back = text(form, "back", 10)
    target = "/outbox" if back == "list" else f"/outbox/{outbox_id}"
    return RedirectResponse(f"{target}?done={action}", status_code=303)


@router.post("/accounts/{account_id}/send-test")
async def send_test(request: Request, account_id: int, who: PageUser, form: CsrfForm) -> Response:
    """ "Enviar prueba a…": queue one message to the typed address, then show it in Envíos."""
    account_id = _id(account_id)
    ctx = get_ctx(request)
    lang = lang_of(request)
    to = text(form, "to", 320)
    try:
        view = await run_in_threadpool(
            lambda: outbox_views.send_test(
                ctx, workspace_id=who.workspace_id, account_id=account_id, to=to, lang=lang
            )
        )
    except FluenzrError as failed:
        if isinstance(failed, NotFoundError):
            raise
        shown, code = _shown(failed, lang) | {"field": "to"}, failed.http_status
        return await run_in_threadpool(
            lambda: page(
                request,
                who,
                "send_test.html",
                status=code,
                account=accounts.get_account(
                    ctx, workspace_id=who.workspace_id, account_id=account_id
                ),
                to=to,
                error=shown,
            )
        )
    return RedirectResponse(f"/outbox/{view.id}?done=queued", status_code=303)


@router.get("/replies")
async def replies_page(
    request: Request,
    who: PageUser,
    account: str = "",
    reply_class: str = "",
    state: str = "",
    since: str = "",
    until: str = "",
) -> Response:
    filters = {
        "account": account[:12],
        "class": request.query_params.get("class", reply_class)[:20],
        "state": state if state in replies.STATES else "",
        "since": since[:40],
        "until": until[:40],
    }
    if filters["class"] not in replies.CLASSES:
        filters["class"] = ""
    number = page_number(request.query_params.get("page", ""))

    def build() -> Response:
        ctx = get_ctx(request)
        found, error = _filtered(
            functools.partial(replies.list_replies, ctx, workspace_id=who.workspace_id),
            lang_of(request),
            since=filters["since"],
            until=filters["until"],
            account_id=_account_filter(filters["account"]),
            reply_class=filters["class"] or None,
            state=filters["state"] or None,
            page=number,
        )
        return page(
            request,
            who,
            "replies.html",
            status=400 if error else 200,
            replies=found,
            filters=filters,
            classes=replies.CLASSES,
            states=replies.STATES,
            account_choices=_account_choices(ctx, who.workspace_id),
            error=error,
        )

    return await run_in_threadpool(build)


_MARKS = {
    "read": {"read": True},
    "unread": {"read": False},
    "handled": {"handled": True},
    "open": {"handled": False},
}


@router.post("/replies/{reply_id}/{action}")
async def reply_mark(
    request: Request, reply_id: int, action: str, who: PageUser, form: CsrfForm
) -> Response:
    """Mark a reply read / unread / handled / open: stored by FluenzR, never on the mailbox."""
    reply_id = _id(reply_id)
    change = _MARKS.get(action)
    if change is None:
        raise NotFoundError()
    await run_in_threadpool(
        lambda: replies.mark(
            get_ctx(request),
            workspace_id=who.workspace_id,
            reply_id=reply_id,
            user_id=who.user_id,
            **change,
        )
    )
    back = text(form, "back", 500)
    target = back if _BACK.fullmatch(back) else "/replies"
    return RedirectResponse(target, status_code=303)
