""" "Conectar con Google" / "Conectar con Microsoft" and "Reconectar": the OAuth connect flow.

POST /accounts/oauth/{provider} (CSRF, email) → 303 to the provider's consent page; the
provider redirects to GET /accounts/oauth/callback, which must come from the same browser
session (``services.oauth_connect``). The redirect URI is ``<public_url>/accounts/oauth/callback``
— the exact value to register with Google and Microsoft (docs/oauth.md).
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from fluenzr.errors import FluenzrError
from fluenzr.http.deps import SESSION_COOKIE, get_ctx
from fluenzr.services import oauth_connect
from fluenzr.services.accounts import get_account
from fluenzr.services.tokens import Principal
from fluenzr.web.deps import CsrfForm, PageUser
from fluenzr.web.render import error_page
from fluenzr.web.session import lang_of

router = APIRouter(include_in_schema=False)
CALLBACK = "/accounts/oauth/callback"
MAX_PARAM = 4096


def redirect_uri(request: Request) -> str:
    public = get_ctx(request).settings.public_url
    base = public.rstrip("/") if public else str(request.base_url).rstrip("/")
    return base + CALLBACK


def _session_key(request: Request) -> str:
    return request.cookies.get(SESSION_COOKIE, "")


def _failed(request: Request, error: FluenzrError) -> Response:
    return error_page(request, error=error, status=error.http_status, lang=lang_of(request))


async def _start(
    request: Request, who: Principal, provider: str, *, email: str, account_id: int | None
) -> Response:
    ctx = get_ctx(request)

    def start() -> str:
        return oauth_connect.start_connect(
            ctx,
            provider=provider,
            email=email,
            workspace_id=who.workspace_id,
            user_id=who.user_id,
            session_key=_session_key(request),
            redirect_uri=redirect_uri(request),
            account_id=account_id,
        )

    try:
        url = await run_in_threadpool(start)
    except FluenzrError as exc:
        return _failed(request, exc)
    return RedirectResponse(url, status_code=303)


@router.get(CALLBACK)
async def oauth_callback(request: Request, who: PageUser) -> Response:
    params = request.query_params

    def param(name: str) -> str:
        return params.get(name, "")[:MAX_PARAM]

    try:
        view = await oauth_connect.finish_connect(
            get_ctx(request),
            state=param("state"),
            code=param("code") or None,
            error=param("error") or None,
            error_description=param("error_description"),
            session_key=_session_key(request),
        )
    except FluenzrError as exc:
        return _failed(request, exc)
    return RedirectResponse(f"/accounts/{view.id}?connected=1", status_code=303)


@router.post("/accounts/oauth/{provider}")
async def oauth_connect_start(
    request: Request, provider: str, who: PageUser, form: CsrfForm
) -> Response:
    email = str(form.get("email", ""))[:320]
    return await _start(request, who, provider[:40], email=email, account_id=None)


@router.post("/accounts/{account_id}/reconnect")
async def oauth_reconnect(
    request: Request, account_id: int, who: PageUser, form: CsrfForm
) -> Response:
    ctx = get_ctx(request)

    def provider_of() -> str:
        return get_account(ctx, workspace_id=who.workspace_id, account_id=account_id).provider

    try:
        provider = await run_in_threadpool(provider_of)
    except FluenzrError as exc:
        return _failed(request, exc)
    return await _start(request, who, provider, email="", account_id=account_id)
