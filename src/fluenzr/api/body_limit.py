"""A cap on request bodies, applied before any parsing and before authentication.

An ASGI middleware: a declared ``Content-Length`` over the cap is refused (413) before a byte of
the body is read; a chunked body is read up to the cap and refused as soon as it goes over. The
whole (capped) body is read here, then replayed to the app, so no route, form parser or
authentication dependency ever sees a body over the cap or runs while one is still arriving.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fluenzr.config import Settings
from fluenzr.error_codes import ErrorCode
from fluenzr.errors import FluenzrError
from fluenzr.http.errors import respond
from fluenzr.http.uploads import UPLOAD_MAX_BYTES

IMPORT_PATHS = frozenset(
    {"/api/v1/accounts/import", "/accounts/import", "/accounts/import/preview"}
    | {"/accounts/import/paste", "/accounts/import/paste/preview"}
)


class BodyTooLargeError(FluenzrError):
    code = ErrorCode.REQUEST_BODY_TOO_LARGE
    category = "validation"
    http_status = 413


class BodyLimit:
    """``limit_for(path)`` says how many body bytes a path may receive."""

    def __init__(self, app: ASGIApp, *, limit_for: Callable[[str], int]) -> None:
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope.get("path", ""))
        declared = _content_length(scope)
        if declared is not None and (declared < 0 or declared > limit):
            await _refuse(scope, receive, send, limit)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                await self.app(scope, _replay([], message, receive), send)
                return
            body = message.get("body", b"")
            size += len(body)
            if size > limit:
                await _refuse(scope, receive, send, limit)
                return
            chunks.append(body)
            if not message.get("more_body", False):
                break
        await self.app(scope, _replay(chunks, None, receive), send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() and len(text) < 20 else -1
    return None


def _replay(chunks: list[bytes], pending: Message | None, receive: Receive) -> Receive:
    """Hand the app the body already read as one message, then pass through (disconnects)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            if pending is not None:
                return pending
            return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
        return await receive()

    return replay


async def _refuse(scope: Scope, receive: Receive, send: Send, limit: int) -> None:
    error = BodyTooLargeError(params={"limit_kb": max(1, limit // 1024)})
    response = respond(Request(scope, receive), error, 413)
    # Unread body bytes stay on the wire: the connection cannot be reused.
    response.headers["Connection"] = "close"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    await response(scope, receive, send)


def limit_for_path(settings: Settings, path: str) -> int:
    """The product's caps: forms and JSON get ``max_body_bytes``; a message to send (the
    outbox) may be bigger, up to ``max_outbox_body_bytes``."""
    if path == "/api/v1/outbox" or path.startswith("/api/v1/outbox/"):
        return settings.max_outbox_body_bytes
    if path in IMPORT_PATHS:  # an accounts CSV (5 MB cap, services.account_csv) and its form
        return max(settings.max_body_bytes, UPLOAD_MAX_BYTES)
    return settings.max_body_bytes


__all__ = ["BodyLimit", "BodyTooLargeError", "limit_for_path"]
