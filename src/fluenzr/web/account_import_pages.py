""" "Importar CSV": upload → column mapping + dry run (htmx, in the same form) → import → results.

The file never leaves the browser's form: "Revisar" posts it (htmx) and gets back the mapping
step and the dry run, swapped *inside* the form, so "Importar" posts the same file again with
the mapping chosen. Nothing is kept on the server between the steps; the upload is parsed in
memory (``web.deps.UploadCsrfForm``). A run's results are an ``import`` job (no secrets).
Checking and sealing run in a thread pool, off the event loop.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from fluenzr.error_codes import ErrorCode, parse_code
from fluenzr.errors import FluenzrError, NotFoundError
from fluenzr.http.deps import get_ctx
from fluenzr.presets import catalogue
from fluenzr.services import account_csv, account_import
from fluenzr.services.tokens import Principal
from fluenzr.web.deps import PageUser, UploadCsrfForm, page
from fluenzr.web.forms import text
from fluenzr.web.render import error_text
from fluenzr.web.session import lang_of

router = APIRouter(include_in_schema=False)
MAX_ID = 2**31 - 1
SHOWN_ROWS = 1000  # rows listed on a page; the counts and the CSV download have them all
_PASTE_FIELDS = tuple(field.name for field in dataclasses.fields(account_csv.SharedServer))


def _checked(form: FormData, name: str) -> bool:
    return form.get(name) in {"1", "on"}


async def _upload(form: FormData) -> bytes:
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        return b""
    data = await upload.read(account_csv.MAX_BYTES + 1)
    await upload.close()
    return data


def _override(form: FormData, headers: list[str]) -> dict[str, str]:
    """The mapping step's choices: ``map.<n>`` is the column the n-th header fills."""
    out: dict[str, str] = {}
    for index, header in enumerate(headers):
        chosen = form.get(f"map.{index}")
        if isinstance(chosen, str) and (chosen == "" or chosen in account_csv.COLUMNS):
            out[header] = chosen
    return out


def _parse_file(data: bytes, form: FormData) -> account_csv.ParsedFile:
    override = _override(form, account_csv.headers_of(data)) if "map.0" in form else None
    return account_csv.parse_csv(data, mapping=override)


def _parse_paste(form: FormData) -> account_csv.ParsedFile:
    shared = account_csv.SharedServer(**{name: text(form, name, 1024) for name in _PASTE_FIELDS})
    lines = form.get("lines")
    return account_csv.parse_paste(lines if isinstance(lines, str) else "", shared=shared)


def _shown_error(stored: dict[str, Any], lang: str) -> dict[str, str]:
    """A stored row error in the reader's language (field labels included), from its code."""
    code = parse_code(str(stored.get("code", "")))
    if code is ErrorCode.UNKNOWN:
        return error_text(stored, lang)
    params = stored.get("params") if isinstance(stored.get("params"), dict) else {}
    return error_text(FluenzrError(code, params=params), lang)


def _rows_shown(result: dict[str, Any], lang: str) -> list[dict[str, Any]]:
    rows = []
    for row in result.get("rows", [])[:SHOWN_ROWS]:
        rows.append({**row, "errors": [_shown_error(e, lang) for e in row["errors"]]})
    return rows


def _page(
    request: Request,
    who: Principal,
    *,
    mode: str,
    status: int = 200,
    error: FluenzrError | None = None,
    preview: dict[str, Any] | None = None,
) -> Response:
    lang = lang_of(request)
    return page(
        request,
        who,
        "account_import.html",
        status=status,
        mode=mode,
        presets=catalogue.list_presets(),
        columns=list(account_csv.COLUMNS),
        limits={"mb": account_csv.MAX_BYTES // (1024 * 1024), "rows": account_csv.MAX_ROWS},
        error=error_text(error, lang) | {"field": ""} if error else None,
        preview=preview,
    )


def _preview_context(
    parsed: account_csv.ParsedFile, report: account_import.ImportReport, lang: str, mode: str
) -> dict[str, Any]:
    result = report.to_dict()
    return {
        "headers": parsed.headers if mode == "file" else [],  # paste mode: nothing to map
        "mapping": parsed.mapping,
        "result": result,
        "rows": _rows_shown(result, lang),
        "more": max(0, len(result["rows"]) - SHOWN_ROWS),
        "columns": list(account_csv.COLUMNS),
    }


@router.get("/accounts/import")
async def import_page(request: Request, who: PageUser, mode: str = "file") -> Response:
    return await run_in_threadpool(_page, request, who, mode="paste" if mode == "paste" else "file")


async def _preview(request: Request, who: Principal, form: FormData, *, mode: str) -> Response:
    """The dry run: the fragment for htmx (always 200, so it is swapped), else the page."""
    ctx, lang = get_ctx(request), lang_of(request)
    htmx = request.headers.get("hx-request") == "true"
    data = await _upload(form) if mode == "file" else b""

    def build() -> Response:
        try:
            parsed = _parse_file(data, form) if mode == "file" else _parse_paste(form)
            report = account_import.run_import(
                ctx,
                parsed,
                workspace_id=who.workspace_id,
                dry_run=True,
                update=_checked(form, "update"),
                lang=lang,
            )
        except FluenzrError as error:
            if htmx:
                shown = error_text(error, lang)
                return page(request, who, "_import_preview.html", error=shown)
            return _page(request, who, mode=mode, status=422, error=error)
        preview = _preview_context(parsed, report, lang, mode)
        if htmx:
            return page(request, who, "_import_preview.html", mode=mode, **preview, error=None)
        return _page(request, who, mode=mode, preview=preview)

    return await run_in_threadpool(build)


async def _import(request: Request, who: Principal, form: FormData, *, mode: str) -> Response:
    ctx, lang = get_ctx(request), lang_of(request)
    data = await _upload(form) if mode == "file" else b""

    def build() -> Response:
        try:
            parsed = _parse_file(data, form) if mode == "file" else _parse_paste(form)
        except FluenzrError as error:
            return _page(request, who, mode=mode, status=422, error=error)
        update, test = _checked(form, "update"), _checked(form, "test")
        options = {"update": update, "test": test, "mode": mode, "rows": len(parsed.rows)}
        report = account_import.run_import(
            ctx, parsed, workspace_id=who.workspace_id, update=update, lang=lang
        )
        if test:
            account_import.start_tests(
                ctx, report, workspace_id=who.workspace_id, requested_by=who.user_id, lang=lang
            )
        job = account_import.record_job(ctx, report, workspace_id=who.workspace_id, options=options)
        return RedirectResponse(f"/accounts/import/{job.id}", status_code=303)

    return await run_in_threadpool(build)


@router.post("/accounts/import/preview")
async def import_preview(request: Request, who: PageUser, form: UploadCsrfForm) -> Response:
    return await _preview(request, who, form, mode="file")


@router.post("/accounts/import")
async def import_run(request: Request, who: PageUser, form: UploadCsrfForm) -> Response:
    return await _import(request, who, form, mode="file")


@router.post("/accounts/import/paste/preview")
async def paste_preview(request: Request, who: PageUser, form: UploadCsrfForm) -> Response:
    return await _preview(request, who, form, mode="paste")


@router.post("/accounts/import/paste")
async def paste_run(request: Request, who: PageUser, form: UploadCsrfForm) -> Response:
    return await _import(request, who, form, mode="paste")


def _job_result(request: Request, who: Principal, job_id: int) -> dict[str, Any]:
    if not 1 <= job_id <= MAX_ID:
        raise NotFoundError()
    job = account_import.get_import_job(
        get_ctx(request), workspace_id=who.workspace_id, job_id=job_id
    )
    return {"id": job.id, **(job.result or {})}


@router.get("/accounts/import/{job_id}")
async def import_results(request: Request, who: PageUser, job_id: int) -> Response:
    def build() -> Response:
        result = _job_result(request, who, job_id)
        return page(
            request,
            who,
            "account_import_result.html",
            result=result,
            rows=_rows_shown(result, lang_of(request)),
            more=max(0, len(result.get("rows", [])) - SHOWN_ROWS),
            test_error=_shown_error(result["test_error"], lang_of(request))
            if result.get("test_error")
            else None,
        )

    return await run_in_threadpool(build)


@router.get("/accounts/import/{job_id}/results.csv")
async def import_results_csv(request: Request, who: PageUser, job_id: int) -> Response:
    result = await run_in_threadpool(_job_result, request, who, job_id)
    return Response(
        account_import.results_csv(result),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="import-{job_id}.csv"'},
    )
