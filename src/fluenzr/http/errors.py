"""The one place that turns errors into HTTP responses: JSON for the API, a page for the UI.

The page comes from the renderer the app factory (``fluenzr.server``) installs, so this layer,
shared by ``api`` and ``web``, imports neither.

Every body is ``{code, message, hint, field?}`` in the caller's language. Nothing from the
exception's arguments is echoed except what the raiser chose as parameters, so no secret leaks.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from fluenzr.error_codes import ErrorCode
from fluenzr.errors import FluenzrError
from fluenzr.i18n import from_accept_language, normalise_language, translate

log = logging.getLogger(__name__)
# (request, *, error, status, lang) -> the HTML error page.
ErrorPage = Callable[..., Response]

_HTTP_CODES = {
    401: ErrorCode.NOT_AUTHENTICATED,
    403: ErrorCode.CSRF_INVALID,
    404: ErrorCode.NOT_FOUND,
    405: ErrorCode.METHOD_NOT_ALLOWED,
    413: ErrorCode.TOO_LARGE,
    415: ErrorCode.UNSUPPORTED_MEDIA_TYPE,
}


def request_language(request: Request) -> str:
    """API: Accept-Language; web pages: the ``lang`` cookie, else Spanish (the product default)."""
    if request.url.path.startswith("/api/"):
        header = request.headers.get("accept-language")
        if header:
            return from_accept_language(header)
    cookie = normalise_language(request.cookies.get("lang"))
    if cookie:
        return cookie
    ctx = getattr(request.app.state, "ctx", None)
    return ctx.settings.lang if ctx is not None else "es"


def error_body(error: FluenzrError, lang: str) -> dict[str, Any]:
    return error.to_dict(lang)


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path == "/openapi.json"


def respond(request: Request, error: FluenzrError, status: int) -> Response:
    """The response for an error: JSON under /api, else the error page."""
    lang = request_language(request)
    if not _is_api(request):
        error_page: ErrorPage = request.app.state.error_page
        return error_page(request, error=error, status=status, lang=lang)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(error_body(error, lang), status_code=status, headers=headers)


async def _fluenzr_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, FluenzrError)
    return respond(request, exc, exc.http_status)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    if not _is_api(request):
        # A page URL with a malformed id (``/accounts/abc``) is simply not there.
        return respond(request, FluenzrError(ErrorCode.NOT_FOUND), 404)
    field = "body"
    for problem in exc.errors():
        loc = [
            str(part) for part in problem.get("loc", ()) if part not in ("body", "query", "path")
        ]
        field = ".".join(loc) or field
        break
    error = FluenzrError(ErrorCode.INVALID_INPUT, params={"field": field})
    error.http_status = 422
    error.category = "validation"
    return respond(request, error, 422)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, ErrorCode.HTTP_ERROR)
    error = FluenzrError(code, params={"status": exc.status_code})
    error.http_status = exc.status_code
    response = respond(request, error, exc.status_code)
    if exc.headers:
        response.headers.update(exc.headers)
    return response


async def _unexpected(request: Request, exc: Exception) -> Response:
    # Log the type and where only: an exception's text may carry user data.
    log.error("unexpected %s on %s %s", type(exc).__name__, request.method, request.url.path)
    error = FluenzrError(ErrorCode.INTERNAL_ERROR)
    return respond(request, error, 500)


def install(app: FastAPI, *, error_page: ErrorPage) -> None:
    app.state.error_page = error_page
    app.add_exception_handler(FluenzrError, _fluenzr_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)


__all__ = ["ErrorPage", "error_body", "install", "request_language", "respond", "translate"]
