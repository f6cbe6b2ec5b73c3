"""Probar on the unsaved "+ SMTP" form (services.draft_probar): the panel, trust, re-test."""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from fluenzr.errors import FluenzrError, NotFoundError
from fluenzr.http.deps import get_ctx
from fluenzr.services import draft_probar, jobs
from fluenzr.services.tokens import Principal
from fluenzr.web import account_input, forms, probar_view
from fluenzr.web.account_pages import _id
from fluenzr.web.deps import CsrfForm, Drafts, PageUser, page
from fluenzr.web.render import error_text
from fluenzr.web.session import lang_of

router = APIRouter(include_in_schema=False)


def _draft_panel(
    request: Request,
    who: Principal,
    job_id: int,
    *,
    full: bool = False,
    pin_fill: str | None = None,
) -> Response:
    job = jobs.get_job(get_ctx(request), workspace_id=who.workspace_id, job_id=job_id)
    if job.kind != draft_probar.KIND:
        raise NotFoundError()
    return page(
        request,
        who,
        "probar_page.html" if full else "probar_panel.html",
        account=None,
        job=job,
        base="/accounts/new",
        oob=not full,
        pin_fill=pin_fill,
        **probar_view.panel_context(job, lang=lang_of(request)),
    )


def _trusted_pin(request: Request, who: Principal, form: Any) -> str | None:
    """The fingerprint of the caller's own draft test named by ``trust_job`` (never typed)."""
    text = forms.text(form, "trust_job", 12)
    if not text:
        return None
    if not text.isdigit():
        raise NotFoundError()
    job = jobs.get_job(get_ctx(request), workspace_id=who.workspace_id, job_id=_id(int(text)))
    fingerprint = forms.find_fingerprint(job.result) if job.kind == draft_probar.KIND else None
    if fingerprint is None:
        raise NotFoundError()
    return fingerprint


@router.post("/accounts/new/test")
async def draft_test(request: Request, who: PageUser, form: CsrfForm, drafts: Drafts) -> Response:
    """Probar on the unsaved "+ SMTP" form: the same steps, through the sending system."""
    htmx = request.headers.get("hx-request") == "true"
    try:
        pin = await run_in_threadpool(_trusted_pin, request, who, form)
        # Passwords typed earlier and kept server-side for this form (web.drafts) count too.
        kept = drafts.take(forms.text(form, "draft", 64), user_id=who.user_id)
        data = account_input.to_input(
            account_input.values_of(form), kept | account_input.secrets_of(form)
        )
        if pin is not None:
            data = dataclasses.replace(data, pin_sha256=pin)
        nonce = forms.text(form, "draft_nonce", 64)
        ctx = get_ctx(request)

        def enqueue() -> int:
            running = draft_probar.pending_with_nonce(
                ctx, workspace_id=who.workspace_id, nonce=nonce
            )
            if running is not None:  # a double click joins the test under way
                return running
            return draft_probar.enqueue_draft(
                ctx, workspace_id=who.workspace_id, data=data, nonce=nonce
            )

        job_id = await run_in_threadpool(enqueue)
    except FluenzrError as error:
        if isinstance(error, NotFoundError) or not htmx:
            raise
        failed = error
        return await run_in_threadpool(_draft_refused, request, who, failed)
    if not htmx:
        return RedirectResponse(f"/accounts/new/tests/{job_id}", status_code=303)
    shown = await run_in_threadpool(
        functools.partial(_draft_panel, request, who, job_id, pin_fill=pin)
    )
    # A reload of the form shows this result again (?draft=<job>).
    shown.headers["HX-Replace-Url"] = f"/accounts/new?draft={job_id}"
    return shown


def _draft_refused(request: Request, who: Principal, error: FluenzrError) -> Response:
    """The settings cannot be tested as typed: say which field, in the panel (htmx swaps 200)."""
    lang = lang_of(request)
    shown = error_text(error, lang) | {"field": account_input.field_of(error)}
    return page(request, who, "probar_refused.html", error=shown)


@router.get("/accounts/new/tests/{job_id}")
async def draft_page(request: Request, job_id: int, who: PageUser) -> Response:
    return await run_in_threadpool(
        functools.partial(_draft_panel, request, who, _id(job_id), full=True)
    )


@router.get("/accounts/new/tests/{job_id}/panel")
async def draft_panel(request: Request, job_id: int, who: PageUser) -> Response:
    return await run_in_threadpool(_draft_panel, request, who, _id(job_id))
