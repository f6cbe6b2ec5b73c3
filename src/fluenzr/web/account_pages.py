"""Pages of "Cuentas de Email": the table, "+ SMTP", the account page, "Probar" live results."""

from __future__ import annotations

import functools
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from fluenzr.core.secret import Secret
from fluenzr.errors import FluenzrError, NotFoundError
from fluenzr.http.deps import autodetect_seams, get_ctx
from fluenzr.presets import catalogue
from fluenzr.services import (
    account_status,
    accounts,
    dashboard,
    jobs,
    outbox,
    send_window,
    users,
)
from fluenzr.services.account_autodetect import detect_settings
from fluenzr.services.tokens import Principal
from fluenzr.web import forms
from fluenzr.web.chart import chart
from fluenzr.web.render import error_text, render
from fluenzr.web.session import check_csrf, lang_of, login_redirect, principal

router = APIRouter(include_in_schema=False)
MAX_ID = 2**31 - 1


async def _who(request: Request) -> Principal | None:
    return await run_in_threadpool(principal, request)


def _id(value: int) -> int:
    if not 1 <= value <= MAX_ID:
        raise NotFoundError()
    return value


def _page(
    request: Request, who: Principal, name: str, *, status: int = 200, **ctx: Any
) -> Response:
    spaces = users.workspaces_of(get_ctx(request), who.user_id)
    return render(
        request,
        name,
        lang=lang_of(request),
        status=status,
        user=who,
        csrf=who.csrf_token,
        workspaces=spaces,
        **ctx,
    )


@router.get("/accounts")
async def accounts_list(request: Request) -> Response:
    who = await _who(request)
    if who is None:
        return login_redirect(request)

    def build() -> Response:
        ctx = get_ctx(request)
        rows = accounts.list_accounts(ctx, workspace_id=who.workspace_id)
        stats = dashboard.workspace_stats(ctx, workspace_id=who.workspace_id)
        return _page(request, who, "accounts.html", accounts=rows, stats=stats)

    return await run_in_threadpool(build)


def _form_page(
    request: Request,
    who: Principal,
    values: dict[str, str],
    *,
    error: FluenzrError | None = None,
    note: str | None = None,
    account: Any = None,
) -> Response:
    """The "+ SMTP" form, or the same form editing ``account``."""
    lang = lang_of(request)
    err = None
    if error is not None:
        field = str(error.params.get("field") or "")
        err = error_text(error, lang) | {"field": forms.FIELD_ALIASES.get(field, field)}
    preset = forms.preset_for(values)
    return _page(
        request,
        who,
        "account_form.html",
        status=error.http_status if error else 200,
        values=values,
        presets=catalogue.list_presets(),
        preset=preset,
        error=err,
        note=note,
        account=account,
    )


@router.get("/accounts/new")
async def account_new(request: Request, preset: str = "", email: str = "") -> Response:
    who = await _who(request)
    if who is None:
        return login_redirect(request)
    values = {name: "" for name in (*forms.TEXT_FIELDS, *forms.LIMIT_FIELDS)}
    values["email"] = email[:320]
    chosen = forms.preset_for({"preset": preset[:40]})
    if chosen is not None:
        values = forms.apply_preset(values, chosen)
    return await run_in_threadpool(_form_page, request, who, values)


async def _filled(request: Request, form: Any) -> tuple[dict[str, str], str | None]:
    """Values after the preset picker or "Detectar desde el email" (full autodetect)."""
    values = forms.values_of(form)
    if forms.text(form, "action", 20) == "detect":
        found = await detect_settings(
            values["email"], seams=autodetect_seams(request), lang=lang_of(request)
        )
        values = forms.apply_detection(values, found)
        return values, (None if found.get("smtp_host") else "web.detect.none")
    chosen = forms.preset_for(values)
    if chosen is not None:
        values = forms.apply_preset(values, chosen)
    return values, None


@router.post("/accounts/new")
async def account_create(request: Request) -> Response:
    who = await _who(request)
    if who is None:
        return login_redirect(request)
    form = await request.form()
    check_csrf(form.get("csrf"), who.csrf_token)
    action = forms.text(form, "action", 20)
    if action in ("detect", "preset"):
        try:
            values, note = await _filled(request, form)
        except FluenzrError as error:
            failed = error
            return await run_in_threadpool(
                functools.partial(_form_page, request, who, forms.values_of(form), error=failed)
            )
        if request.headers.get("hx-request") == "true":
            return await run_in_threadpool(_fill_fragment, request, who, values, note)
        return await run_in_threadpool(_form_page, request, who, values, note=note)
    values = forms.values_of(form)
    try:
        data = forms.to_input(form)
        view = await run_in_threadpool(
            lambda: accounts.create_account(
                get_ctx(request), workspace_id=who.workspace_id, data=data
            )
        )
    except FluenzrError as error:
        failed = error
    else:
        return RedirectResponse(f"/accounts/{view.id}?created=1", status_code=303)
    return await run_in_threadpool(
        functools.partial(_form_page, request, who, values, error=failed)
    )


@router.post("/accounts/new/check")
async def account_check_field(request: Request) -> Response:
    """htmx: re-render the field the user just left, with its error if it has one."""
    who, form = await _guarded(request)
    if who is None:
        return login_redirect(request)
    name = request.headers.get("hx-trigger-name", "")
    if name not in forms.LIVE_CHECKS:
        return Response(status_code=204)
    values = forms.values_of(form)
    error = await run_in_threadpool(forms.check_field, name, values.get(name, ""))
    shown = _error_dict(error, lang_of(request))
    if shown is not None:
        shown["field"] = forms.FIELD_ALIASES.get(shown["field"], shown["field"])
    return render(
        request,
        "account_check.html",
        lang=lang_of(request),
        user=who,
        csrf=who.csrf_token,
        field=name,
        values=values,
        error=shown,
    )


def _fill_fragment(
    request: Request, who: Principal, values: dict[str, str], note: str | None
) -> Response:
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
        error=None,
    )


def _account_page(
    request: Request, who: Principal, account_id: int, *, error: FluenzrError | None = None
) -> Response:
    ctx = get_ctx(request)
    view = accounts.get_account(ctx, workspace_id=who.workspace_id, account_id=account_id)
    series = dashboard.daily_series(
        ctx, workspace_id=who.workspace_id, account_id=account_id, zone=view.timezone
    )
    lang = lang_of(request)
    return _page(
        request,
        who,
        "account.html",
        status=error.http_status if error else 200,
        account=view,
        stats=dashboard.workspace_stats(ctx, workspace_id=who.workspace_id).get(account_id),
        job=jobs.latest_job(ctx, workspace_id=who.workspace_id, account_id=account_id),
        events=dashboard.recent_events(ctx, workspace_id=who.workspace_id, account_id=account_id),
        sends=_recent_sends(ctx, who.workspace_id, account_id),
        chart=chart(series, lang=lang),
        can_pause=True,
        error=(error_text(error, lang) | {"field": error.params.get("field", "")})
        if error
        else None,
        created=request.query_params.get("created") == "1",
    )


def _recent_sends(ctx: Any, workspace_id: int, account_id: int) -> list[Any]:
    rows: list[Any] = outbox.list_outbox(
        ctx, workspace_id=workspace_id, account_id=account_id, limit=10
    )
    return rows


def _error_dict(error: FluenzrError | None, lang: str) -> dict[str, str] | None:
    if error is None:
        return None
    return error_text(error, lang) | {"field": str(error.params.get("field") or "")}


@router.get("/accounts/{account_id}")
async def account_show(request: Request, account_id: int) -> Response:
    who = await _who(request)
    if who is None:
        return login_redirect(request)
    return await run_in_threadpool(_account_page, request, who, _id(account_id))


async def _guarded(request: Request) -> tuple[Principal | None, Any]:
    who = await _who(request)
    if who is None:
        return None, None
    form = await request.form()
    check_csrf(form.get("csrf"), who.csrf_token)
    return who, form


@router.post("/accounts/{account_id}/settings")
async def account_settings(request: Request, account_id: int) -> Response:
    who, form = await _guarded(request)
    if who is None:
        return login_redirect(request)
    account_id = _id(account_id)
    try:
        changes = forms.limit_changes(form)
        window = forms.window_of(form)
        if window is not None:
            send_window.validate(window["days"], window["start"], window["end"])

        def save() -> None:
            ctx = get_ctx(request)
            accounts.update_account(
                ctx, workspace_id=who.workspace_id, account_id=account_id, changes=changes
            )
            send_window.set_window(
                ctx,
                workspace_id=who.workspace_id,
                account_id=account_id,
                days=window["days"] if window else None,
                start=window["start"] if window else "00:00",
                end=window["end"] if window else "23:59",
            )

        await run_in_threadpool(save)
    except FluenzrError as error:
        if isinstance(error, NotFoundError):
            raise
        return await run_in_threadpool(
            functools.partial(_account_page, request, who, account_id, error=error)
        )
    return RedirectResponse(f"/accounts/{account_id}", status_code=303)


@router.post("/accounts/{account_id}/{action}")
async def account_action(request: Request, account_id: int, action: str) -> Response:
    """pause, resume, delete, test (Probar) and trust (pin the certificate Probar reported)."""
    who, form = await _guarded(request)
    if who is None:
        return login_redirect(request)
    account_id = _id(account_id)
    ctx = get_ctx(request)
    ws = who.workspace_id
    if action == "test":
        job = await run_in_threadpool(
            lambda: jobs.enqueue_probar(ctx, workspace_id=ws, account_id=account_id)
        )
        if request.headers.get("hx-request") == "true":
            return await run_in_threadpool(_panel, request, who, account_id, job.id)
        return RedirectResponse(f"/accounts/{account_id}/tests/{job.id}", status_code=303)
    if action == "delete":
        await run_in_threadpool(
            lambda: accounts.remove_account(ctx, workspace_id=ws, account_id=account_id)
        )
        return RedirectResponse("/accounts", status_code=303)
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
        return RedirectResponse(f"/accounts/{account_id}", status_code=303)
    if action in ("pause", "resume"):
        func = account_status.pause if action == "pause" else account_status.resume
        await run_in_threadpool(lambda: func(ctx, workspace_id=ws, account_id=account_id))
        return RedirectResponse(f"/accounts/{account_id}", status_code=303)
    raise NotFoundError()


def _trust(ctx: Any, workspace_id: int, account_id: int, job_text: str, password: str) -> None:
    """Pin the fingerprint from the caller's own Probar report, never one typed into the form.

    The pin is part of what the password is bound to, so the password comes with it.
    """
    try:
        job_id = _id(int(job_text))
    except ValueError:
        raise NotFoundError() from None
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
    lang = lang_of(request)
    report_error = (job.result or {}).get("error")
    return _page(
        request,
        who,
        "probar_page.html" if full else "probar_panel.html",
        account=view,
        job=job,
        failure=error_text(report_error, lang) if isinstance(report_error, dict) else None,
        fingerprint=forms.find_fingerprint(job.result) if job.status == "done" else None,
        oob=not full,
    )


@router.get("/accounts/{account_id}/tests/{job_id}")
async def probar_page(request: Request, account_id: int, job_id: int) -> Response:
    who = await _who(request)
    if who is None:
        return login_redirect(request)
    return await run_in_threadpool(
        lambda: _panel(request, who, _id(account_id), _id(job_id), full=True)
    )


@router.get("/accounts/{account_id}/tests/{job_id}/panel")
async def probar_panel(request: Request, account_id: int, job_id: int) -> Response:
    who = await _who(request)
    if who is None:
        return login_redirect(request)
    return await run_in_threadpool(_panel, request, who, _id(account_id), _id(job_id))
