"""Bulk import of accounts: ``POST /accounts/import`` (a CSV upload or JSON rows) → an
``import`` job holding one result per row (no secrets); ``GET /accounts/import/{id}`` reads it.

The upload is parsed in memory (``http.uploads``; the body is capped first by
``api.body_limit``) and never stored. Checking and sealing run in a worker thread, off the event
loop: sealing a password is an X25519 exchange, 10,000 of them are seconds of CPU.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from fluenzr.api.schemas import Id
from fluenzr.error_codes import ErrorCode
from fluenzr.errors import ValidationError
from fluenzr.http.deps import CtxDep, CurrentUser, LangDep, WorkspaceDep
from fluenzr.http.uploads import memory_form
from fluenzr.services import account_csv, account_import
from fluenzr.services.context import AppContext
from fluenzr.services.jobs import JobView

router = APIRouter(prefix="/accounts", tags=["accounts"])

Short = Annotated[str, Field(max_length=255)]
Cell = str | int | None


class ImportServer(BaseModel):
    """Paste mode: what every pasted mailbox shares (a preset, or the servers)."""

    model_config = ConfigDict(extra="forbid")

    preset: Short = ""
    smtp_host: Short = ""
    smtp_port: Short = ""
    smtp_security: Short = ""
    imap_host: Short = ""
    imap_port: Short = ""
    imap_security: Short = ""
    tags: Annotated[str, Field(max_length=1024)] = ""


class ImportRequest(BaseModel):
    """JSON form of an import: ``rows`` (CSV-like records) or ``paste`` (+ ``server``)."""

    model_config = ConfigDict(extra="forbid")

    rows: list[dict[Annotated[str, Field(max_length=200)], Cell]] | None = Field(
        default=None,
        max_length=account_csv.MAX_ROWS,
        description="Records keyed by column (from_email, smtp_host, … or a known alias).",
        examples=[[{"from_email": "ana@example.com", "smtp_host": "smtp.example.com"}]],
    )
    paste: Annotated[str, Field(max_length=account_csv.MAX_BYTES)] | None = Field(
        default=None, description="Lines of email,password sharing ``server``."
    )
    server: ImportServer | None = None
    mapping: dict[Short, Short] | None = Field(
        default=None, description='Header → our column ("" ignores the header).'
    )
    dry_run: bool = Field(default=False, description="Check every row; write nothing.")
    update: bool = Field(default=False, description="Apply the row to an existing account.")
    test: bool = Field(
        default=False,
        description="Then run Probar on every account created or updated (a bulk Probar job; "
        "its id is ``result.test_job_id``).",
    )


_MULTIPART_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["file"],
    "properties": {
        "file": {"type": "string", "format": "binary", "description": "The CSV (≤ 5 MB)."},
        "mapping": {"type": "string", "description": 'JSON: {"File header": "our_column"}.'},
        "dry_run": {"type": "boolean"},
        "update": {"type": "boolean"},
        "test": {"type": "boolean"},
    },
}


def _inline(node: Any, defs: dict[str, Any]) -> Any:
    """The JSON body's schema with its ``$defs`` written in place (one self-contained schema)."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            return _inline(defs[ref.rsplit("/", 1)[-1]], defs)
        return {key: _inline(value, defs) for key, value in node.items() if key != "$defs"}
    if isinstance(node, list):
        return [_inline(item, defs) for item in node]
    return node


_JSON_SCHEMA = ImportRequest.model_json_schema()
_JSON_SCHEMA = _inline(_JSON_SCHEMA, _JSON_SCHEMA.get("$defs", {}))
_OPENAPI: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {"schema": _MULTIPART_SCHEMA},
            "application/json": {"schema": _JSON_SCHEMA},
        },
    }
}


def _flag(value: object) -> bool:
    return isinstance(value, str) and value.strip().lower() in {"1", "true", "on", "yes"}


def _mapping_field(value: object) -> dict[str, str]:
    if not isinstance(value, str) or not value.strip():
        return {}
    try:
        data = json.loads(value)
    except ValueError:
        data = None
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in data.items()
    ):
        raise ValidationError(ErrorCode.INVALID_INPUT, params={"field": "mapping"})
    return data


async def _from_multipart(request: Request) -> tuple[account_csv.ParsedFile, dict[str, bool]]:
    form = await memory_form(request)
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise ValidationError(ErrorCode.INVALID_INPUT, params={"field": "file"})
    data = await upload.read(account_csv.MAX_BYTES + 1)
    await upload.close()
    options = {name: _flag(form.get(name)) for name in ("dry_run", "update", "test")}
    parsed = account_csv.parse_csv(data, mapping=_mapping_field(form.get("mapping")))
    return parsed, options


async def _from_json(request: Request) -> tuple[account_csv.ParsedFile, dict[str, bool]]:
    try:
        body = ImportRequest.model_validate_json(await request.body())
    except PydanticValidationError as exc:
        # include_input=False: a rejected row may hold a password.
        raise RequestValidationError(exc.errors(include_input=False)) from None
    options = {"dry_run": body.dry_run, "update": body.update, "test": body.test}
    if body.paste is not None:
        shared = account_csv.SharedServer(**(body.server or ImportServer()).model_dump())
        return account_csv.parse_paste(body.paste, shared=shared), options
    if body.rows is None:
        raise ValidationError(ErrorCode.IMPORT_EMPTY, params={"field": "rows"})
    return account_csv.parse_records(body.rows, mapping=body.mapping), options


def _run(
    ctx: AppContext,
    parsed: account_csv.ParsedFile,
    *,
    workspace: int,
    lang: str,
    options: dict[str, bool],
    user: int | None,
) -> JobView:
    report = account_import.run_import(
        ctx,
        parsed,
        workspace_id=workspace,
        dry_run=options["dry_run"],
        update=options["update"],
        lang=lang,
    )
    if options["test"]:
        account_import.start_tests(
            ctx, report, workspace_id=workspace, requested_by=user, lang=lang
        )
    return account_import.record_job(
        ctx, report, workspace_id=workspace, options={**options, "rows": len(parsed.rows)}
    )


@router.post("/import", status_code=201, response_model=JobView, openapi_extra=_OPENAPI)
async def import_accounts(
    request: Request, ctx: CtxDep, workspace: WorkspaceDep, lang: LangDep, who: CurrentUser
) -> JobView:
    """Import accounts: a CSV file (multipart ``file``) or JSON ``rows`` / ``paste``.

    Every row is checked with the same rules as ``POST /accounts``; each valid row is written
    on its own, each bad one reported (``result.rows[].errors``: line, field, message, hint)
    without stopping the others; an address already in the workspace is ``exists`` unless
    ``update``. ``dry_run`` writes nothing. The job (kind ``import``) is returned finished;
    with ``test``, ``result.test_job_id`` is the bulk Probar of the imported accounts."""
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        parsed, options = await _from_multipart(request)
    else:
        parsed, options = await _from_json(request)
    return await run_in_threadpool(
        _run, ctx, parsed, workspace=workspace, lang=lang, options=options, user=who.user_id
    )


@router.get("/import/{job_id}", response_model=JobView)
def get_import(job_id: Id, ctx: CtxDep, workspace: WorkspaceDep) -> JobView:
    """An import's per-row results (also at ``GET /jobs/{id}``)."""
    return account_import.get_import_job(ctx, workspace_id=workspace, job_id=job_id)
