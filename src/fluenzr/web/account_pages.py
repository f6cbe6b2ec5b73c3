"""Pages of "Cuentas de Email": the table, "+ SMTP", the account page, "Probar" live results."""

from __future__ import annotations

import functools
import secrets
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from fluenzr.core.secret import Secret
from fluenzr.errors import FluenzrError, NotFoundError, ValidationError
from fluenzr.http.deps import autodetect_seams, get_ctx
from fluenzr.presets import catalogue
from fluenzr.services import (
    account_fields,
    account_removal,
    account_rules,
    account_status,
    accounts,
    dashboard,
    domain_checks,
    jobs,
    outbox,
)
from fluenzr.services.account_autodetect import detect_settings
from fluenzr.services.tokens import Principal
from fluenzr.web import account_input, detect_note, forms, probar_view
from fluenzr.web.chart import chart
from fluenzr.web.deps import CsrfForm, Drafts, PageUser, PageWorkspace, page
from fluenzr.web.render import error_text, render
from fluenzr.web.session import lang_of

router = APIRouter(include_in_schema=False)
MAX_ID = 2**31 - 1


def _id(value: int) -> int:
    if not 1 <= value <= MAX_ID:
        raise NotFoundError()
    return value


def shown_errors(errors: account_input.Errors, lang: str) -> dict[str, dict[str, str]]:
    return {name: error_text(error, lang) for name, error in errors.items()}


def _form_page(
    request: Request,
    who: Principal,
    values: dict[str, str],
    *,
    errors: account_input.Errors | None = None,
    error: FluenzrError | None = None,
    note: dict[str, Any] | None = None,
    account: Any = None,
    draft: str = "",
    kept: frozenset[str] = frozenset(),
    panel: dict[str, Any] | None = None,
) -> Response:
    """The "+ SMTP" form, or the same form editing ``account``; ``errors`` next to their fields,
    ``error`` (one without a field) above the form; ``panel``: a draft Probar."""
    lang = lang_of(request)
    advanced = {spec.input_name for spec in account_fields.in_group("advanced")}
    problems = errors or {}
    return page(
        request,
        who,
        "account_form.html",
        status=422 if problems else (error.http_status if error else 200),
        values=values,
        presets=catalogue.list_presets(),
        preset=forms.preset_for(values),
        errors=shown_errors(problems, lang),
        error=error_text(error, lang) | {"field": ""} if error else None,
        note=note,
        account=account,
        draft=draft,
        kept=kept,
        open_advanced=bool(advanced & set(problems) or any(values.get(n) for n in advanced)),
        limit_defaults=accounts.DEFAULTS,
        draft_nonce=secrets.token_urlsafe(16),
        **(panel or {}),
    )


@router.get("/accounts/new")
async def account_new(
    request: Request, who: PageUser, preset: str = "", email: str = "", draft: str = ""
) -> Response:
    values = account_input.empty_values()
    values["email"] = email[:320]
    chosen = forms.preset_for({"preset": preset[:40]})
    if chosen is not None:
        values = forms.apply_preset(values, chosen)

    def build() -> Response:
        return _form_page(request, who, values, panel=_draft_shown(request, who, draft[:12]))

    return await run_in_threadpool(build)


def _draft_shown(request: Request, who: Principal, text: str) -> dict[str, Any] | None:
    """The last draft Probar of this form (``?draft=<job>``), shown again after a reload."""
    if not text.isdigit() or not 1 <= int(text) <= MAX_ID:
        return None
    try:
        job = jobs.get_job(get_ctx(request), workspace_id=who.workspace_id, job_id=int(text))
    except NotFoundError:
        return None
    if job.kind != "probar_draft":
        return None
    lang = lang_of(request)
    return {"job": job, "base": "/accounts/new", "oob": False} | probar_view.panel_context(
        job, lang=lang
    )


Note = dict[str, Any]


async def _filled(request: Request, form: Any) -> tuple[dict[str, str], Note | None]:
    """Values after the preset picker, "Detectar desde el email" (full autodetect) or a
    suggested host name ("guess")."""
    values = account_input.values_of(form)
    action = forms.text(form, "action", 20)
    if action == "detect":
        found = await detect_settings(
            values["email"], seams=autodetect_seams(request), lang=lang_of(request)
        )
        values = forms.apply_detection(values, found)
        return values, detect_note.describe(found, lang_of(request))
    if action == "guess":
        host = forms.text(form, "guess_host", 253)
        account_rules.host(host, field="smtp_host")
        return dict(values, smtp_host=host, smtp_port="587", smtp_security="starttls"), None
    chosen = forms.preset_for(values)
    if chosen is not None:
        values = forms.apply_preset(values, chosen)
    return values, None


def rejected(error: FluenzrError, errors: account_input.Errors) -> FluenzrError | None:
    """Put a service error next to its field; returns it when it belongs to no field."""
    name = account_input.field_of(error)
    if name and isinstance(error, ValidationError):
        errors[name] = error
        return None
    return error


@router.post("/accounts/new")
async def account_create(
    request: Request, who: PageUser, form: CsrfForm, drafts: Drafts
) -> Response:
    action = forms.text(form, "action", 20)
    values = account_input.values_of(form)
    draft = forms.text(form, "draft", 64)
    kept = drafts.take(draft, user_id=who.user_id) | account_input.secrets_of(form)
    htmx = request.headers.get("hx-request") == "true"
    if action in ("detect", "preset", "guess"):
        try:
            values, note = await _filled(request, form)
        except FluenzrError as error:
            refused = error
            if htmx:  # htmx swaps only 2xx answers: the error goes next to the field
                return await run_in_threadpool(
                    functools.partial(_fill_fragment, request, who, values, None, error=refused)
                )
            return await run_in_threadpool(
                functools.partial(_form_page, request, who, values, error=refused)
            )
        if htmx:
            return await run_in_threadpool(_fill_fragment, request, who, values, note)
        draft = drafts.keep(user_id=who.user_id, kept=kept, draft_id=draft)
        return await run_in_threadpool(
            functools.partial(
                _form_page, request, who, values, note=note, draft=draft, kept=frozenset(kept)
            )
        )
    errors = await run_in_threadpool(
        functools.partial(
            account_input.problems,
            values,
            has_password="password" in kept,
            limits=accounts.DEFAULTS,
        )
    )
    failed: FluenzrError | None = None
    if not errors:
        try:
            data = account_input.to_input(values, kept)
            view = await run_in_threadpool(
                lambda: accounts.create_account(
                    get_ctx(request), workspace_id=who.workspace_id, data=data
                )
            )
        except FluenzrError as error:
            failed = rejected(error, errors)
        else:
            drafts.drop(draft)
            return RedirectResponse(f"/accounts/{view.id}?created=1", status_code=303)
    draft = drafts.keep(user_id=who.user_id, kept=kept, draft_id=draft)
    return await run_in_threadpool(
        functools.partial(
            _form_page,
            request,
            who,
            values,
            errors=errors,
            error=failed,
            draft=draft,
            kept=frozenset(kept),
        )
    )


@router.post("/accounts/new/check")
async def account_check_field(request: Request, who: PageUser, form: CsrfForm) -> Response:
    """htmx: re-render the field the user just left, with its error if it has one."""
    name = request.headers.get("hx-trigger-name", "")
    if name not in account_input.LIVE_CHECKS:
        return Response(status_code=204)
    values = account_input.values_of(form)
    error = await run_in_threadpool(account_input.check_field, name, values.get(name, ""))
    lang = lang_of(request)
    return render(
        request,
        "account_check.html",
        lang=lang,
        user=who,
        csrf=who.csrf_token,
        field_name=name,
        values=values,
        errors=shown_errors({name: error} if error else {}, lang),
    )


def _fill_fragment(
    request: Request,
    who: Principal,
    values: dict[str, str],
    note: Note | None,
    *,
    error: FluenzrError | None = None,
) -> Response:
    lang = lang_of(request)
    field = (account_input.field_of(error) or "email") if error is not None else ""
    return render(
        request,
        "account_fill.html",
        lang=lang_of(request),
        user=who,
        csrf=who.csrf_token,
        values=values,
        presets=catalogue.list_presets(),
        preset=forms.preset_for(values),
        note=note,
        errors={},
        error=(error_text(error, lang) | {"field": field}) if error is not None else None,
    )


def limit_values(view: Any) -> dict[str, str]:
    limits = account_fields.in_group("limits")
    return {spec.input_name: str(getattr(view, spec.name)) for spec in limits}


def window_values(window: dict[str, Any] | None) -> dict[str, Any]:
    """The sending-window controls: the stored window, or what was just posted."""
    if not window:
        return {"on": False, "days": [0, 1, 2, 3, 4], "start": "09:00", "end": "18:00"}
    return {
        "on": True,
        "days": list(window.get("days") or []),
        "start": str(window.get("start") or "09:00"),
        "end": str(window.get("end") or "18:00"),
    }


def _account_page(
    request: Request,
    who: Principal,
    account_id: int,
    *,
    error: FluenzrError | None = None,
    errors: account_input.Errors | None = None,
    values: dict[str, str] | None = None,
    window: dict[str, Any] | None = None,
) -> Response:
    """The account page; a rejected settings form comes back with what was typed and every
    error next to its field."""
    ctx = get_ctx(request)
    view = accounts.get_account(ctx, workspace_id=who.workspace_id, account_id=account_id)
    series = dashboard.daily_series(
        ctx, workspace_id=who.workspace_id, account_id=account_id, zone=view.timezone
    )
    lang = lang_of(request)
    job = jobs.latest_job(ctx, workspace_id=who.workspace_id, account_id=account_id)
    return page(
        request,
        who,
        "account.html",
        status=422 if errors else (error.http_status if error else 200),
        account=view,
        values=values or limit_values(view),
        window=window or window_values(view.send_window),
        errors=shown_errors(errors or {}, lang),
        stats=dashboard.workspace_stats(ctx, workspace_id=who.workspace_id).get(account_id),
        job=job,
        base=f"/accounts/{account_id}",
        oob=False,
        history=account_removal.history(ctx, workspace_id=who.workspace_id, account_id=account_id),
        saved=request.query_params.get("saved", "")[:20],
        **(probar_view.panel_context(job, lang=lang, timezone=view.timezone) if job else {}),
        events=dashboard.recent_events(ctx, workspace_id=who.workspace_id, account_id=account_id),
        sends=_recent_sends(ctx, who.workspace_id, account_id),
        chart=chart(series, lang=lang),
        can_pause=True,
        error=(error_text(error, lang) | {"field": error.params.get("field", "")})
        if error
        else None,
        created=request.query_params.get("created") == "1",
        deliverability=_deliverability(ctx, account_id, lang),
    )


def _deliverability(ctx: Any, account_id: int, lang: str) -> dict[str, Any] | None:
    summary = domain_checks.account_summary(ctx, account_id)
    if summary is None:
        return None
    return summary | {"findings": [f.to_dict(lang) for f in summary["findings"]]}


def _recent_sends(ctx: Any, workspace_id: int, account_id: int) -> list[Any]:
    rows: list[Any] = outbox.list_outbox(
        ctx, workspace_id=workspace_id, account_id=account_id, limit=10
    )
    return rows


@router.get("/accounts/{account_id}")
async def account_show(request: Request, account_id: int, who: PageUser) -> Response:
    return await run_in_threadpool(_account_page, request, who, _id(account_id))


@router.post("/accounts/{account_id}/{action}")
async def account_action(
    request: Request, account_id: int, action: str, who: PageUser, ws: PageWorkspace, form: CsrfForm
) -> Response:
    """pause, resume, delete, test (Probar) and trust (pin the certificate Probar reported)."""
    account_id = _id(account_id)
    ctx = get_ctx(request)
    if action == "test":
        job = await run_in_threadpool(
            lambda: jobs.enqueue_probar(ctx, workspace_id=ws, account_id=account_id)
        )
        if request.headers.get("hx-request") == "true":
            return await run_in_threadpool(_panel, request, who, account_id, job.id)
        return RedirectResponse(f"/accounts/{account_id}/tests/{job.id}", status_code=303)
    if action == "delete":
        typed = forms.text(form, "confirm_email", 320)
        try:
            removed = await run_in_threadpool(
                lambda: account_removal.remove(
                    ctx, workspace_id=ws, account_id=account_id, typed_email=typed
                )
            )
        except FluenzrError as refused:
            if isinstance(refused, NotFoundError):
                raise
            return await run_in_threadpool(_account_page, request, who, account_id, error=refused)
        return RedirectResponse(f"/accounts?{removed.query(who.csrf_token or '')}", status_code=303)
    if action == "trust":
        password = forms.text(form, "password", 2048)
        try:
            await run_in_threadpool(
                lambda: _trust(ctx, ws, account_id, forms.text(form, "job_id", 12), password)
            )
        except FluenzrError as refused:
            if isinstance(refused, NotFoundError):
                raise
            return await run_in_threadpool(_account_page, request, who, account_id, error=refused)
        # After trusting, the test runs again by itself: the page shows it live.
        await run_in_threadpool(
            lambda: jobs.enqueue_probar(ctx, workspace_id=ws, account_id=account_id)
        )
        return RedirectResponse(f"/accounts/{account_id}?saved=trusted", status_code=303)
    if action in ("pause", "resume"):
        func = account_status.pause if action == "pause" else account_status.resume
        await run_in_threadpool(lambda: func(ctx, workspace_id=ws, account_id=account_id))
        return RedirectResponse(f"/accounts/{account_id}?saved={action}", status_code=303)
    raise NotFoundError()


def _trust(ctx: Any, workspace_id: int, account_id: int, job_text: str, password: str) -> None:
    """Pin the fingerprint from the caller's own Probar report, never one typed into the form.

    The pin is part of what the password is bound to, so the password comes with it.
    """
    try:
        job_id = _id(int(job_text))
    except ValueError as exc:
        raise NotFoundError() from exc
    job = jobs.get_job(ctx, workspace_id=workspace_id, job_id=job_id)
    fingerprint = forms.find_fingerprint(job.result)
    if job.account_id != account_id or fingerprint is None:
        raise NotFoundError()
    accounts.update_account(
        ctx,
        workspace_id=workspace_id,
        account_id=account_id,
        changes={"pin_sha256": fingerprint, "password": Secret(password) if password else None},
    )


def _panel(
    request: Request, who: Principal, account_id: int, job_id: int, *, full: bool = False
) -> Response:
    ctx = get_ctx(request)
    job = jobs.get_job(ctx, workspace_id=who.workspace_id, job_id=job_id)
    if job.account_id != account_id:
        raise NotFoundError()
    view = accounts.get_account(ctx, workspace_id=who.workspace_id, account_id=account_id)
    return page(
        request,
        who,
        "probar_page.html" if full else "probar_panel.html",
        account=view,
        job=job,
        base=f"/accounts/{account_id}",
        oob=not full,
        **probar_view.panel_context(job, lang=lang_of(request), timezone=view.timezone),
    )


@router.get("/accounts/{account_id}/tests/{job_id}")
async def probar_page(request: Request, account_id: int, job_id: int, who: PageUser) -> Response:
    return await run_in_threadpool(
        lambda: _panel(request, who, _id(account_id), _id(job_id), full=True)
    )


@router.get("/accounts/{account_id}/tests/{job_id}/panel")
async def probar_panel(request: Request, account_id: int, job_id: int, who: PageUser) -> Response:
    return await run_in_threadpool(_panel, request, who, _id(account_id), _id(job_id))
