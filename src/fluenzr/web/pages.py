"""Pages outside the accounts area: first-run setup, login/logout, language, API tokens."""

from __future__ import annotations

import functools
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from fluenzr.core.secret import Secret
from fluenzr.error_codes import ErrorCode
from fluenzr.errors import FluenzrError
from fluenzr.http.deps import get_ctx
from fluenzr.i18n import normalise_language
from fluenzr.services import tokens, users
from fluenzr.services.tokens import Principal
from fluenzr.web import (
    account_edit,
    account_import_pages,
    account_limits,
    account_pages,
    account_table,
    activity_pages,
    bulk_probar_pages,
    draft_pages,
    invitation_pages,
    notification_pages,
    oauth_pages,
    outbox_pages,
    worker_pages,
    workspace_pages,
)
from fluenzr.web.deps import CsrfForm, MaybeUser, PageUser, PreCsrfForm, SessionCookie, page
from fluenzr.web.render import error_text, render
from fluenzr.web.session import (
    clear_session,
    lang_of,
    login_redirect,
    login_response,
    pre_csrf,
    safe_next,
    set_lang,
    set_pre_csrf,
)

router = APIRouter(include_in_schema=False)
router.include_router(draft_pages.router)  # /accounts/new/… before /accounts/{id}/…
router.include_router(bulk_probar_pages.router)  # /accounts/test-bulk/… before /accounts/{id}/…
router.include_router(account_import_pages.router)  # /accounts/import… before /accounts/{id}
router.include_router(outbox_pages.router)  # before account_pages: /accounts/{id}/send-test
router.include_router(notification_pages.router)
router.include_router(account_edit.router)
router.include_router(account_limits.router)  # before account_pages' /accounts/{id}/{action}
router.include_router(oauth_pages.router)  # before account_pages: /accounts/oauth/...
router.include_router(account_table.router)  # /accounts and /accounts/bulk
router.include_router(account_pages.router)
router.include_router(workspace_pages.router)
router.include_router(worker_pages.router)
router.include_router(invitation_pages.router)
router.include_router(activity_pages.router)


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _text(form: Any, name: str, limit: int = 320) -> str:
    value = form.get(name)
    return value[:limit] if isinstance(value, str) else ""


@router.get("/")
def home(request: Request, who: MaybeUser) -> Response:
    if who is None:
        return login_redirect(request)
    return RedirectResponse("/accounts", status_code=303)


def _auth_page(request: Request, name: str, *, status: int = 200, **context: Any) -> Response:
    token = pre_csrf(request)
    response = render(
        request, name, lang=lang_of(request), status=status, csrf=token, user=None, **context
    )
    set_pre_csrf(request, response, token)
    return response


@router.get("/setup")
def setup_form(request: Request) -> Response:
    if not users.needs_setup(get_ctx(request)):
        return RedirectResponse("/login", status_code=303)
    return _auth_page(request, "setup.html", values={}, error=None)


async def _login_then(request: Request, user_id: int, target: str = "/accounts") -> Response:
    return await run_in_threadpool(
        functools.partial(login_response, request, user_id=user_id, target=target)
    )


@router.post("/setup")
async def setup_submit(request: Request, form: PreCsrfForm) -> Response:
    ctx = get_ctx(request)
    values = {"email": _text(form, "email"), "name": _text(form, "name", 200)}
    try:
        user = await run_in_threadpool(
            lambda: users.setup_admin(
                ctx,
                email=values["email"],
                name=values["name"],
                password=Secret(_text(form, "password", 2048)),
            )
        )
    except FluenzrError as error:
        if error.code is ErrorCode.SETUP_DONE:
            return RedirectResponse("/login", status_code=303)
        return _auth_page(
            request,
            "setup.html",
            status=error.http_status,
            values=values,
            error=error_text(error, lang_of(request)) | {"field": error.params.get("field", "")},
        )
    return await _login_then(request, user.id)


@router.get("/login")
def login_form(request: Request) -> Response:
    if users.needs_setup(get_ctx(request)):
        return RedirectResponse("/setup", status_code=303)
    return _auth_page(
        request,
        "login.html",
        values={"next": safe_next(request.query_params.get("next"))},
        error=None,
    )


@router.post("/login")
async def login_submit(request: Request, form: PreCsrfForm) -> Response:
    ctx = get_ctx(request)
    email = _text(form, "email")
    target = safe_next(_text(form, "next", 500))
    try:
        user = await run_in_threadpool(
            lambda: users.authenticate(
                ctx,
                email=email,
                password=Secret(_text(form, "password", 2048)),
                client=_client(request),
            )
        )
    except FluenzrError as error:
        return _auth_page(
            request,
            "login.html",
            status=error.http_status,
            values={"email": email, "next": target},
            error=error_text(error, lang_of(request)),
        )
    return await _login_then(request, user.id, target)


@router.post("/logout")
async def logout(request: Request, form: CsrfForm, cookie: SessionCookie) -> Response:
    """Signed out already (no session): the login redirect of ``CsrfForm`` answers."""
    await run_in_threadpool(tokens.end_session, get_ctx(request), cookie)
    response = RedirectResponse("/login", status_code=303)
    clear_session(response)
    return response


@router.get("/lang/{code}")
def switch_language(request: Request, code: str, next: str | None = None) -> Response:
    """Language switch as a plain link (works without JavaScript); only sets a cookie."""
    lang = normalise_language(code) or "es"
    response = RedirectResponse(safe_next(next), status_code=303)
    set_lang(request, response, lang)
    return response


@router.post("/workspace")
async def switch_workspace(
    request: Request, who: PageUser, form: CsrfForm, cookie: SessionCookie
) -> Response:
    try:
        workspace_id = int(_text(form, "workspace_id", 12))
    except ValueError:
        workspace_id = 0
    ctx = get_ctx(request)
    await run_in_threadpool(
        lambda: tokens.switch_workspace(
            ctx,
            cookie=cookie,
            user_id=who.user_id,
            workspace_id=workspace_id,
        )
    )
    # The next login opens this workspace again.
    await run_in_threadpool(
        lambda: users.remember_workspace(ctx, user_id=who.user_id, workspace_id=workspace_id)
    )
    return RedirectResponse("/accounts", status_code=303)


@router.get("/settings/tokens")
def tokens_page(request: Request, who: PageUser) -> Response:
    return _tokens_view(request, who, created=None)


def _tokens_view(
    request: Request, who: Principal, *, created: str | None, error: Any = None
) -> Response:
    ctx = get_ctx(request)
    return page(
        request,
        who,
        "tokens.html",
        tokens=tokens.list_tokens(ctx, user_id=who.user_id),
        created=created,
        error=error,
    )


@router.post("/settings/tokens")
async def tokens_create(request: Request, who: PageUser, form: CsrfForm) -> Response:
    try:
        _view, secret = await run_in_threadpool(
            lambda: tokens.create_token(
                get_ctx(request),
                user_id=who.user_id,
                workspace_id=who.workspace_id,
                name=_text(form, "name", 100),
            )
        )
    except FluenzrError as error:
        shown = error_text(error, lang_of(request))
        return await run_in_threadpool(
            functools.partial(_tokens_view, request, who, created=None, error=shown)
        )
    # The only time the token is ever shown; the page is marked no-store.
    response = await run_in_threadpool(lambda: _tokens_view(request, who, created=secret.reveal()))
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/settings/tokens/{token_id}/revoke")
async def tokens_revoke(request: Request, token_id: int, who: PageUser, form: CsrfForm) -> Response:
    await run_in_threadpool(
        lambda: tokens.revoke_token(get_ctx(request), user_id=who.user_id, token_id=token_id)
    )
    return RedirectResponse("/settings/tokens", status_code=303)
