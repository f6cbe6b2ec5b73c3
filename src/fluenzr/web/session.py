"""Browser sessions for pages: who is signed in, CSRF checks, cookies.

Signed-in forms carry the session's CSRF token; the login and setup forms (no session yet) use
a double-submit cookie. Cookies are HttpOnly and SameSite=Lax; Secure when configured.
"""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import urlsplit

from fastapi import Request, Response
from fastapi.responses import RedirectResponse

from fluenzr.http.deps import SESSION_COOKIE, CsrfError, get_ctx, session_principal
from fluenzr.http.errors import request_language
from fluenzr.services import tokens
from fluenzr.services.tokens import SESSION_LIFETIME, Principal
from fluenzr.services.users import needs_setup, session_workspace

PRE_CSRF_COOKIE = "fluenzr_csrf"
LANG_COOKIE = "lang"


def lang_of(request: Request) -> str:
    return request_language(request)


def principal(request: Request) -> Principal | None:
    return session_principal(request, get_ctx(request))


def login_redirect(request: Request) -> RedirectResponse:
    target = "/setup" if needs_setup(get_ctx(request)) else "/login"
    return RedirectResponse(target, status_code=303)


def check_csrf(sent: object, expected: str | None) -> None:
    if not isinstance(sent, str) or not expected or not hmac.compare_digest(sent, expected):
        raise CsrfError()


def pre_csrf(request: Request) -> str:
    """The double-submit token for forms shown before login (reuse the cookie if set)."""
    existing = request.cookies.get(PRE_CSRF_COOKIE)
    if existing and 20 <= len(existing) <= 100 and existing.isascii():
        return existing
    return secrets.token_urlsafe(24)


def _secure(request: Request) -> bool:
    return bool(get_ctx(request).settings.secure_cookies)


def set_pre_csrf(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        PRE_CSRF_COOKIE, token, httponly=True, samesite="lax", secure=_secure(request), path="/"
    )


def set_session(request: Request, response: Response, value: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        value,
        max_age=int(SESSION_LIFETIME.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=_secure(request),
        path="/",
    )


def clear_session(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")


def set_lang(request: Request, response: Response, lang: str) -> None:
    response.set_cookie(
        LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax", secure=_secure(request), path="/"
    )


def safe_next(value: str | None, default: str = "/accounts") -> str:
    """Only local paths: never redirect to another site."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return default
    return value


def login_response(request: Request, *, user_id: int, target: str = "/accounts") -> Response:
    """Start a browser session in the workspace the user last chose (blocking: run in a
    thread) and send them on to ``target``."""
    ctx = get_ctx(request)
    workspace_id = session_workspace(ctx, user_id)
    if workspace_id is None:  # no membership left: nothing to sign in to
        return RedirectResponse("/login", status_code=303)
    cookie, _csrf = tokens.start_session(ctx, user_id=user_id, workspace_id=workspace_id)
    response = RedirectResponse(safe_next(target), status_code=303)
    set_session(request, response, cookie.reveal())
    response.delete_cookie(PRE_CSRF_COOKIE, path="/")
    return response
