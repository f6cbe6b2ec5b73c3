"""The workspace page: its members and their roles; owners invite (a link to hand over) and
remove members, and revoke pending invitations."""

from __future__ import annotations

import functools
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from fluenzr.errors import FluenzrError
from fluenzr.http.deps import get_ctx
from fluenzr.services import invitations, users
from fluenzr.services.tokens import Principal
from fluenzr.services.users import Role
from fluenzr.web.deps import CsrfForm, PageUser
from fluenzr.web.forms import text
from fluenzr.web.render import error_text, render
from fluenzr.web.session import lang_of

router = APIRouter(include_in_schema=False)


def invitation_url(request: Request, token: str) -> str:
    return str(request.base_url).rstrip("/") + f"/invitations/{token}"


def _view(
    request: Request,
    who: Principal,
    *,
    error: Any = None,
    status: int = 200,
    invited: dict[str, str] | None = None,
) -> Response:
    ctx = get_ctx(request)
    members = users.list_members(ctx, workspace_id=who.workspace_id)
    mine = next((m for m in members if m.user_id == who.user_id), None)
    is_owner = mine is not None and mine.role == "owner"
    pending = (
        invitations.list_pending(ctx, actor_id=who.user_id, workspace_id=who.workspace_id)
        if is_owner
        else []
    )
    response = render(
        request,
        "workspace.html",
        lang=lang_of(request),
        status=status,
        user=who,
        csrf=who.csrf_token,
        workspaces=users.workspaces_of(ctx, who.user_id),
        members=members,
        is_owner=is_owner,
        pending=pending,
        invited=invited,
        error=error,
    )
    if invited:
        response.headers["Cache-Control"] = "no-store"  # the link is shown this once
    return response


@router.get("/settings/workspace")
async def workspace_page(request: Request, who: PageUser) -> Response:
    return await run_in_threadpool(_view, request, who)


@router.post("/settings/workspace/invitations")
async def invite(request: Request, who: PageUser, form: CsrfForm) -> Response:
    role: Role = "owner" if text(form, "role", 10) == "owner" else "member"
    try:
        created = await run_in_threadpool(
            functools.partial(
                invitations.invite,
                get_ctx(request),
                actor_id=who.user_id,
                workspace_id=who.workspace_id,
                email=text(form, "email", 320),
                role=role,
            )
        )
    except FluenzrError as error:
        shown = error_text(error, lang_of(request)) | {"field": str(error.params.get("field", ""))}
        return await run_in_threadpool(
            functools.partial(_view, request, who, error=shown, status=error.http_status)
        )
    invited = {"email": created.email, "url": invitation_url(request, created.token)}
    return await run_in_threadpool(functools.partial(_view, request, who, invited=invited))


@router.post("/settings/workspace/invitations/{invitation_id}/revoke")
async def invitation_revoke(
    request: Request, who: PageUser, form: CsrfForm, invitation_id: int
) -> Response:
    await run_in_threadpool(
        functools.partial(
            invitations.revoke,
            get_ctx(request),
            actor_id=who.user_id,
            workspace_id=who.workspace_id,
            invitation_id=invitation_id if 1 <= invitation_id <= 2**31 - 1 else 0,
        )
    )
    return RedirectResponse("/settings/workspace", status_code=303)


@router.post("/settings/workspace/members/{user_id}/remove")
async def member_remove(request: Request, who: PageUser, form: CsrfForm, user_id: int) -> Response:
    await run_in_threadpool(
        functools.partial(
            users.remove_member,
            get_ctx(request),
            actor_id=who.user_id,
            workspace_id=who.workspace_id,
            user_id=user_id if 1 <= user_id <= 2**31 - 1 else 0,
        )
    )
    return RedirectResponse("/settings/workspace", status_code=303)
