"""Dependencies shared by API routes, as ``Annotated`` aliases.

Callers authenticate with ``Authorization: Bearer <token>`` or with the browser session cookie;
a cookie-authenticated write must also send the session's CSRF token (``X-CSRF-Token``).
The workspace is the token's (a token is bound to one) or the session's; ``X-Workspace: <id>``
picks another workspace of the caller's for one request. A workspace the caller is not a member
of (or, for a token, any other than its own) is 404, like every cross-workspace access.
"""

from __future__ import annotations

import dataclasses
import hmac
import json
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from fluenzr.diagnose.autodetect import AutodetectSeams, default_seams
from fluenzr.error_codes import ErrorCode
from fluenzr.errors import FluenzrError, NotFoundError, ValidationError
from fluenzr.http.errors import request_language
from fluenzr.services.context import AppContext
from fluenzr.services.tokens import Principal, principal_for_session, principal_for_token
from fluenzr.services.users import NotAuthenticatedError, is_member

SESSION_COOKIE = "fluenzr_session"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class CsrfError(FluenzrError):
    code = ErrorCode.CSRF_INVALID
    category = "auth"
    http_status = 403


def get_ctx(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.ctx
    return ctx


CtxDep = Annotated[AppContext, Depends(get_ctx)]


def autodetect_seams(request: Request) -> AutodetectSeams:
    """The app's autodetect seams (tests point DNS/HTTPS/probes at loopback), else the real ones."""
    seams: AutodetectSeams | None = getattr(request.app.state, "autodetect_seams", None)
    return seams if seams is not None else default_seams(get_ctx(request).settings)


def get_session(ctx: CtxDep) -> Iterator[Session]:
    """A database session for read-only route code; writes go through services."""
    with ctx.sessions() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def get_lang(request: Request) -> str:
    return request_language(request)


LangDep = Annotated[str, Depends(get_lang)]


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def session_principal(request: Request, ctx: AppContext) -> Principal | None:
    cookie = request.cookies.get(SESSION_COOKIE)
    return principal_for_session(ctx, cookie) if cookie else None


WORKSPACE_HEADER = "x-workspace"


def _asked_workspace(request: Request) -> int | None:
    raw = request.headers.get(WORKSPACE_HEADER)
    if raw is None:
        return None
    text = raw.strip()
    if not text.isdigit() or len(text) > 10 or not 1 <= int(text) <= 2**31 - 1:
        raise NotFoundError(params={"field": "workspace"})
    return int(text)


def current_principal(request: Request, ctx: CtxDep) -> Principal:
    asked = _asked_workspace(request)
    token = _bearer(request)
    if token is not None:
        principal = principal_for_token(ctx, token)
        if principal is None:
            raise NotAuthenticatedError()
        if asked is not None and asked != principal.workspace_id:
            raise NotFoundError(params={"field": "workspace"})  # a token is bound to one
        return principal
    principal = session_principal(request, ctx)
    if principal is None:
        raise NotAuthenticatedError()
    if request.method not in SAFE_METHODS:
        sent = request.headers.get("x-csrf-token", "")
        if not principal.csrf_token or not hmac.compare_digest(sent, principal.csrf_token):
            raise CsrfError()
    if asked is not None and asked != principal.workspace_id:
        if not is_member(ctx, user_id=principal.user_id, workspace_id=asked):
            raise NotFoundError(params={"field": "workspace"})
        principal = dataclasses.replace(principal, workspace_id=asked)
    return principal


CurrentUser = Annotated[Principal, Depends(current_principal)]


def current_workspace(principal: CurrentUser) -> int:
    return principal.workspace_id


WorkspaceDep = Annotated[int, Depends(current_workspace)]


def _bad_text(value: Any) -> bool:
    if isinstance(value, str):
        if "\x00" in value:
            return True
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:  # lone surrogates cannot be stored
            return True
        return False
    if isinstance(value, dict):
        return any(_bad_text(k) or _bad_text(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_bad_text(v) for v in value)
    return False


async def clean_input(request: Request) -> None:
    """Refuse NUL bytes and unpaired surrogates anywhere in the input: databases reject them."""
    if any(_bad_text(v) for v in request.query_params.values()) or _bad_text(request.url.path):
        raise ValidationError(ErrorCode.INVALID_TEXT, params={"field": "query"})
    if request.method in SAFE_METHODS:
        return
    body = await request.body()
    if not body or "json" not in request.headers.get("content-type", ""):
        return
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return  # FastAPI reports malformed JSON itself
    if _bad_text(data):
        raise ValidationError(ErrorCode.INVALID_TEXT, params={"field": "body"})


__all__ = [
    "SESSION_COOKIE",
    "CtxDep",
    "CurrentUser",
    "LangDep",
    "SessionDep",
    "WorkspaceDep",
    "clean_input",
    "current_principal",
    "get_ctx",
    "session_principal",
]
