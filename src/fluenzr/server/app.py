"""The app factory: REST API under /api/v1 plus the server-rendered UI, over one AppContext.

Nothing is built at import time: the entry point (``fluenzr serve``, a test) builds the
settings and the context and passes them in.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any, Literal
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, FastAPI, Request, Response

from fluenzr import __version__
from fluenzr.api.body_limit import BodyLimit, limit_for_path
from fluenzr.api.routes import (
    account_import,
    accounts,
    bulk_probar,
    domains,
    events,
    health,
    invitations,
    jobs,
    me,
    messages,
    notifications,
    outbox,
    presets,
    replies,
    suppression,
    webhooks,
    workers,
)
from fluenzr.http import errors
from fluenzr.http.deps import clean_input
from fluenzr.presets.oauth_providers import oauth_provider, provider_keys
from fluenzr.server import api_docs, metrics
from fluenzr.services.context import AppContext
from fluenzr.services.runtime import run_worker
from fluenzr.web import deps, pages
from fluenzr.web.render import error_page, mount_static

log = logging.getLogger(__name__)
WebRole = Literal["all", "web"]
_ROUTES = (
    health,
    bulk_probar,  # /accounts/test before accounts' /accounts/{id}
    account_import,  # /accounts/import… (no clash with /accounts/{id}: one segment)
    accounts,
    jobs,
    presets,
    domains,
    me,
    invitations,
    outbox,
    messages,
    replies,
    notifications,
    events,
    suppression,
    webhooks,
    workers,
)


def _api_router() -> APIRouter:
    api = APIRouter(prefix="/api/v1", dependencies=[Depends(clean_input)])
    for module in _ROUTES:
        api.include_router(module.router)
    return api


async def run_sending(ctx: AppContext, *, stop: asyncio.Event) -> None:
    """The sending system in this process: outbox worker, detection and jobs."""
    await run_worker(ctx, stop=stop)


def _report_crash(task: asyncio.Task[None]) -> None:
    """The UI keeps serving if the in-process sending system dies; say so in the log at once."""
    if not task.cancelled() and task.exception() is not None:
        log.error("sending system stopped: %s", type(task.exception()).__name__)


def _lifespan(ctx: AppContext, *, sending: bool) -> Any:
    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        stop = asyncio.Event()
        task = asyncio.create_task(run_sending(ctx, stop=stop)) if sending else None
        if task is not None:
            task.add_done_callback(_report_crash)
        try:
            yield
        finally:
            stop.set()
            if task is not None:
                try:
                    await asyncio.wait_for(task, timeout=15)
                except (TimeoutError, asyncio.CancelledError):
                    task.cancel()
                except Exception:
                    log.exception("sending system stopped with an error")

    return lifespan


_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; object-src 'none'"
)


def content_security_policy(settings: Any) -> str:
    """The CSP; ``form-action`` also allows the configured OAuth providers' authorization
    endpoints ("Conectar con Google" posts, then is redirected there: browsers apply
    ``form-action`` to the redirect)."""
    origins: set[str] = set()
    for key in provider_keys():
        provider = oauth_provider(key, settings)
        if provider.configured:
            parts = urlsplit(provider.authorization_endpoint)
            if parts.scheme in ("https", "http") and parts.netloc:
                origins.add(f"{parts.scheme}://{parts.netloc}")
    if not origins:
        return _CSP
    extra = " ".join(sorted(origins))
    return _CSP.replace("form-action 'self'", f"form-action 'self' {extra}")


async def _security_headers(request: Request, call_next: Any) -> Response:
    response: Response = await call_next(request)
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    if headers.get("content-type", "").startswith("text/html"):
        # Pages carry CSRF tokens and account data: never cache them.
        headers.setdefault("Cache-Control", "no-store")
        csp = getattr(request.app.state, "csp", None)
        if csp is None:  # once per app: the settings do not change while it runs
            csp = request.app.state.csp = content_security_policy(request.app.state.ctx.settings)
        headers.setdefault("Content-Security-Policy", csp)
    return response


def create_app(
    ctx: AppContext,
    *,
    role: WebRole = "all",
    sending: bool | None = None,
    autodetect_seams: Any = None,
) -> FastAPI:
    """The ASGI app. ``role="all"`` also runs the sending system in-process (``sending``
    overrides that, e.g. for tests that run a separate worker). ``autodetect_seams``
    (``diagnose.autodetect.AutodetectSeams``) points autodetect's DNS/HTTPS/probes elsewhere."""
    run_sending_here = (role == "all") if sending is None else sending
    if run_sending_here and not ctx.vault.can_open:
        run_sending_here = False  # a read-only vault cannot open credentials
    app = FastAPI(
        lifespan=_lifespan(ctx, sending=run_sending_here),
        title="FluenzR API",
        version=__version__,
        description="Connect mailboxes over SMTP/IMAP, send safely, detect replies. "
        "Authenticate with `Authorization: Bearer <token>` (create one with "
        "`fluenzr tokens create`). Errors: `{code, message, hint, field?}` in the "
        "Accept-Language language.",
        openapi_url="/openapi.json",
        docs_url=None,  # served offline by server.api_docs
        redoc_url=None,
    )
    app.state.ctx = ctx
    app.state.role = role
    app.state.autodetect_seams = autodetect_seams
    app.middleware("http")(_security_headers)
    # Added last, so it runs first: before any other middleware, route or authentication.
    app.add_middleware(BodyLimit, limit_for=lambda path: limit_for_path(ctx.settings, path))
    errors.install(app, error_page=error_page)
    deps.install(app)  # a page without a session redirects to login
    app.include_router(_api_router())
    app.include_router(pages.router)
    metrics.install(app, ctx)  # GET /metrics, for the operator's token only
    api_docs.install(app, title=app.title, openapi_url="/openapi.json")
    mount_static(app)
    return app
