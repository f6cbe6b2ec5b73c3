"""The invitation link: a logged-in invitee (with the invited email) accepts it; someone new
sets their own password, which creates their user. Any bad link gets the same answer."""

from __future__ import annotations

import functools
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from fluenzr.core.secret import Secret
from fluenzr.errors import FluenzrError
from fluenzr.http.deps import get_ctx
from fluenzr.services import invitations, tokens
from fluenzr.services.invitations import InvitationPreview
from fluenzr.services.tokens import Principal
from fluenzr.web.deps import AnyCsrfForm, MaybeUser, SessionCookie
from fluenzr.web.forms import text
from fluenzr.web.render import error_text, render
from fluenzr.web.session import lang_of, login_response, pre_csrf, set_pre_csrf

router = APIRouter(include_in_schema=False)


def _page(
    request: Request,
    who: Principal | None,
    token: str,
    *,
    error: Any = None,
    status: int = 200,
) -> Response:
    ctx = get_ctx(request)
    found: InvitationPreview | None = None
    try:
        found = invitations.preview(ctx, token)
    except FluenzrError as problem:
        error, status = error_text(problem, lang_of(request)), problem.http_status
    csrf = who.csrf_token if who is not None else pre_csrf(request)
    response = render(
        request,
        "invitation.html",
        lang=lang_of(request),
        status=status,
        user=who,
        csrf=csrf,
        workspaces=[],
        invitation=found,
        token=token,
        error=error,
    )
    if who is None and csrf:
        set_pre_csrf(request, response, csrf)
    response.headers["Referrer-Policy"] = "no-referrer"  # the token is in this page's URL
    return response


@router.get("/invitations/{token}")
async def invitation_page(request: Request, token: str, who: MaybeUser) -> Response:
    return await run_in_threadpool(_page, request, who, token[:200])


@router.post("/invitations/{token}")
async def invitation_submit(
    request: Request, token: str, who: MaybeUser, form: AnyCsrfForm, cookie: SessionCookie
) -> Response:
    """Signed in: accept into this session; not signed in: register (``AnyCsrfForm`` checked
    the token of whichever applies)."""
    token = token[:200]
    ctx = get_ctx(request)
    try:
        if who is not None:
            workspace_id = await run_in_threadpool(
                functools.partial(invitations.accept, ctx, token=token, user_id=who.user_id)
            )
            await run_in_threadpool(
                functools.partial(
                    tokens.switch_workspace,
                    ctx,
                    cookie=cookie,
                    user_id=who.user_id,
                    workspace_id=workspace_id,
                )
            )
            return RedirectResponse("/accounts", status_code=303)
        user, _workspace = await run_in_threadpool(
            functools.partial(
                invitations.register,
                ctx,
                token=token,
                password=Secret(text(form, "password", 2048)),
                name=text(form, "name", 200),
            )
        )
    except FluenzrError as error:
        shown = error_text(error, lang_of(request))
        return await run_in_threadpool(
            functools.partial(_page, request, who, token, error=shown, status=error.http_status)
        )
    return await run_in_threadpool(
        functools.partial(login_response, request, user_id=user.id, target="/accounts")
    )
