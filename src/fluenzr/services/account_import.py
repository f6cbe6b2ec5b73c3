"""Bulk import of accounts: parsed rows → one result per row, each valid row written on its own.

Every row is checked with the account form's rules and messages (``services.accounts``:
:func:`~fluenzr.services.accounts.check_new_account` for a dry run, ``create_account`` /
``update_account`` for a real one), so an import accepts exactly what "+ SMTP" accepts. Each row
is its own transaction (its tags and warm-up written with it): a bad row is reported (line,
column, message, fix) and the others go on; a row is never half-written.

Re-importing a file changes nothing: an address already in the workspace is ``exists`` (or,
with ``update``, its given columns are applied). Passwords stay :class:`~fluenzr.core.secret.Secret`
from the cell to the vault; results carry no secret, and a parameter that happens to equal a
row's password (a password column mapped onto a host, say) is masked before it is shown.

Sealing is CPU work (an X25519 exchange per password): callers on an event loop run
:func:`run_import` in a thread (the API's handler is sync; the web page uses a thread pool).
"""

from __future__ import annotations

import csv
import io
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from fluenzr.core.secret import Secret
from fluenzr.error_codes import ErrorCode
from fluenzr.errors import DuplicateError, FluenzrError, NotFoundError, ValidationError
from fluenzr.services import (
    account_import_write,
    account_rules,
    account_tags,
    accounts,
    bulk_jobs,
    bulk_probar,
)
from fluenzr.services.account_config import AccountInput
from fluenzr.services.account_csv import (
    COLUMNS,
    SECRET_COLUMNS,
    ParsedFile,
    Row,
    cell_limit,
    escape_formula,
    is_formula,
    split_tags,
)
from fluenzr.services.account_fields import BY_NAME
from fluenzr.services.account_import_write import NewAccount
from fluenzr.services.context import AppContext
from fluenzr.services.job_rows import new_job
from fluenzr.services.jobs import JobView, get_job
from fluenzr.storage.engine import transaction
from fluenzr.storage.models import Account
from fluenzr.storage.models.fleet import AccountTag

log = logging.getLogger(__name__)
KIND = "import"
# New accounts written per transaction: big enough that a statement's overhead is shared by
# hundreds of rows, small enough that a refused chunk re-written row by row stays quick.
CHUNK_ROWS = 250
WARMUP_RANGES = {"warmup_start": (1, 100_000), "warmup_increment": (0, 100_000)}
_SECURITY_WORDS = {"ssl/tls": "ssl", "tls/ssl": "ssl", "implicit": "ssl", "explicit": "starttls"}
# The service's error ``field`` → our column (the form calls the display name ``name``).
_COLUMN_OF = {target: column for column, target in COLUMNS.items() if target} | {
    "name": "from_name"
}

# Statuses of a row. A dry run says what a real run would do.
CREATED, UPDATED, EXISTS, INVALID = "created", "updated", "exists", "invalid"
WOULD_CREATE, WOULD_UPDATE = "new", "update"


@dataclass
class RowResult:
    line: int
    email: str
    status: str
    account_id: int | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass
class ImportReport:
    dry_run: bool
    update: bool
    encoding: str
    delimiter: str
    mapping: dict[str, str]
    ignored: list[str]
    rows: list[RowResult]
    seconds: float = 0.0
    job_id: int | None = None
    test_job_id: int | None = None  # the bulk Probar started for the imported accounts
    test_error: dict[str, Any] | None = None  # why it could not start (rate, size, running)

    @property
    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for row in self.rows:
            out[row.status] = out.get(row.status, 0) + 1
        return out

    @property
    def ok(self) -> bool:
        return all(row.status != INVALID for row in self.rows)

    @property
    def account_ids(self) -> list[int]:
        """The accounts this run created or updated (what ``--test`` tests)."""
        done = (CREATED, UPDATED)
        return [r.account_id for r in self.rows if r.status in done and r.account_id is not None]

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "dry_run": self.dry_run,
            "update": self.update,
            "counts": self.counts,
            "encoding": self.encoding,
            "delimiter": self.delimiter,
            "mapping": self.mapping,
            "ignored": self.ignored,
            "seconds": round(self.seconds, 3),
            "test_job_id": self.test_job_id,
            "test_error": self.test_error,
            "rows": [asdict(row) for row in self.rows],
        }


@dataclass
class _Candidate:
    data: AccountInput | None
    tags: list[str]
    warmup: dict[str, int]
    secrets: list[str]
    errors: list[dict[str, Any]]
    warnings: list[str]


def _masked(params: dict[str, Any], secrets: list[str]) -> dict[str, Any]:
    """JSON-safe parameters with any text containing one of the row's passwords masked."""
    out: dict[str, Any] = {}
    for key, value in params.items():
        if isinstance(value, str):
            leaked = any(s and (s == value or (len(s) >= 4 and s in value)) for s in secrets)
            out[key] = "••••" if leaked else value[:200]
        elif isinstance(value, int | float | bool) or value is None:
            out[key] = value
        else:
            out[key] = str(value)[:200]
    return out


def _error(
    error: FluenzrError, *, secrets: list[str], lang: str | None, column: str | None = None
) -> dict[str, Any]:
    params = _masked(error.params, secrets)
    shown = FluenzrError(error.code, params=params)
    name = column or _COLUMN_OF.get(str(error.params.get("field") or ""), "")
    return {
        "field": name or str(error.params.get("field") or ""),
        "code": str(error.code),
        "params": params,
        "message": shown.message(lang),
        "hint": shown.hint(lang),
    }


def _number(value: str, *, name: str, low: int, high: int) -> int:
    try:
        number = int(value)
    except ValueError:
        raise account_rules.invalid(
            ErrorCode.LIMIT_INVALID, name, minimum=low, maximum=high, value=value
        ) from None
    checked = account_rules.limit(number, field=name, minimum=low, maximum=high)
    assert checked is not None
    return checked


def _typed(column: str, value: str) -> Any:
    """A cell as AccountInput takes it, with the form's conversions (ports, numbers)."""
    target = COLUMNS[column]
    assert target is not None
    spec = BY_NAME[target]
    if spec.secret:
        return Secret(value)
    if spec.kind == "port":
        return account_rules.port(value, field=target)
    if spec.kind == "number":
        return _number(value, name=target, low=spec.minimum or 0, high=spec.maximum or 0)
    if spec.kind == "security":
        return _SECURITY_WORDS.get(value.lower(), value)
    return value


def _tags(cell: str) -> list[str]:
    """The cell's tags under the same rule as tags given anywhere else (account_tags)."""
    tags: list[str] = []
    for part in split_tags(cell):
        try:
            tag = account_tags.normalise(part)
        except ValidationError as exc:
            raise ValidationError(exc.code, params={**exc.params, "field": "tags"}) from None
        if tag not in tags:
            tags.append(tag)
    return tags


def candidate(row: Row, *, lang: str | None = None) -> _Candidate:
    """A row's AccountInput (None when a cell did not convert) and every problem found."""
    secrets = [row.cells[c] for c in SECRET_COLUMNS if c in row.cells]
    found = _Candidate(None, [], {}, secrets, [], [])
    if row.malformed:
        error = ValidationError(ErrorCode.IMPORT_PASTE_LINE_INVALID, params={"field": "line"})
        found.errors.append(_error(error, secrets=secrets, lang=lang, column="from_email"))
    for column in row.too_long:
        error = ValidationError(
            ErrorCode.IMPORT_CELL_TOO_LONG, params={"field": column, "limit": cell_limit(column)}
        )
        found.errors.append(_error(error, secrets=secrets, lang=lang, column=column))
    values: dict[str, Any] = {}
    for column, value in row.cells.items():
        if column not in SECRET_COLUMNS and is_formula(value):
            found.warnings.append(f"formula:{column}")
        try:
            if column == "tags":
                found.tags = _tags(value)
            elif column in WARMUP_RANGES:
                low, high = WARMUP_RANGES[column]
                found.warmup[column] = _number(value, name=column, low=low, high=high)
            else:
                values[str(COLUMNS[column])] = _typed(column, value)
        except FluenzrError as error:
            found.errors.append(_error(error, secrets=secrets, lang=lang, column=column))
    if not found.errors:
        found.data = AccountInput(**values)
    return found


def _also(tags: list[str], warmup: dict[str, int]) -> Callable[[Session, Account], None]:
    """The importer's writes in the account's own transaction: new tags, the warm-up ramp."""

    def write(session: Session, account: Account) -> None:
        for name, value in warmup.items():
            setattr(account, name, value)
        if not tags:
            return
        have = set(
            session.scalars(select(AccountTag.tag).where(AccountTag.account_id == account.id))
        )
        for tag in tags:
            if tag not in have:
                session.add(AccountTag(account_id=account.id, tag=tag))

    return write


def _existing(ctx: AppContext, workspace_id: int) -> dict[str, int]:
    with ctx.sessions() as session:
        rows = session.execute(
            select(Account.email, Account.id).where(Account.workspace_id == workspace_id)
        )
        return {email.lower(): account_id for email, account_id in rows}


def _changes(data: AccountInput, row: Row) -> dict[str, Any]:
    """Only the columns the row gave (an update never blanks what the file left empty)."""
    given = {str(COLUMNS[c]) for c in row.cells if COLUMNS.get(c)}
    return {name: getattr(data, name) for name in given}


def _printable(text: str) -> str:
    """A cell shown back (terminal, page): control characters replaced, length capped."""
    return "".join(ch if ch.isprintable() else "?" for ch in text[:320])


def _checked(
    row: Row,
    *,
    existing: dict[str, int],
    seen: dict[str, int],
    lang: str | None,
) -> tuple[RowResult, _Candidate | None]:
    """A row's result so far and its candidate, or None when the row is already invalid."""
    found = candidate(row, lang=lang)
    email = _printable(row.cells.get("from_email", ""))
    result = RowResult(line=row.line, email=email, status=INVALID, warnings=found.warnings)
    if found.data is None:
        result.errors = found.errors
        return result, None
    try:
        address = account_rules.email(found.data.email)
    except FluenzrError as error:
        result.errors = [_error(error, secrets=found.secrets, lang=lang)]
        return result, None
    result.email = address
    key = address.lower()
    if key in seen:
        duplicate = ValidationError(
            ErrorCode.IMPORT_DUPLICATE_IN_FILE,
            params={"field": "email", "email": address, "first_line": seen[key]},
        )
        result.errors = [_error(duplicate, secrets=found.secrets, lang=lang)]
        return result, None
    seen[key] = row.line
    result.account_id = existing.get(key)
    return result, found


def _one(
    ctx: AppContext,
    row: Row,
    found: _Candidate,
    result: RowResult,
    *,
    workspace_id: int,
    dry_run: bool,
    update: bool,
    lang: str | None,
) -> None:
    """Check or write one row on its own (its own transaction); failures land on ``result``."""
    try:
        _write(
            ctx,
            row,
            found,
            result,
            workspace_id=workspace_id,
            dry_run=dry_run,
            update=update,
            lang=lang,
        )
    except DuplicateError:  # created meanwhile by another request
        result.status, result.errors = EXISTS, []
    except FluenzrError as error:
        result.status = INVALID
        result.errors = [_error(error, secrets=found.secrets, lang=lang)]
    except SQLAlchemyError:
        # The driver's error repeats the statement's parameters (sealed passwords): not shown,
        # not logged; the row is reported and the import goes on.
        log.warning("import line %d: the database refused the row", row.line)
        result.status = INVALID
        result.errors = [_error(FluenzrError(ErrorCode.INTERNAL_ERROR), secrets=[], lang=lang)]


def _write(
    ctx: AppContext,
    row: Row,
    found: _Candidate,
    result: RowResult,
    *,
    workspace_id: int,
    dry_run: bool,
    update: bool,
    lang: str | None,
) -> None:
    """Check (dry run) or write one row: a new account, an update, or nothing (exists)."""
    assert found.data is not None
    account_id = result.account_id
    also = _also(found.tags, found.warmup)
    if account_id is not None and not update:
        result.status = EXISTS  # not a failure: said once, with how to apply the file instead
        note = FluenzrError(ErrorCode.IMPORT_ACCOUNT_EXISTS, params={"email": result.email})
        result.errors = [_error(note, secrets=[], lang=lang, column="from_email")]
    elif account_id is not None:
        # An update checks the row merged into the stored account (a partial row is fine).
        changes = _changes(found.data, row)
        if dry_run:
            accounts.check_account_update(
                ctx, workspace_id=workspace_id, account_id=account_id, changes=changes
            )
            result.status = WOULD_UPDATE
        else:
            accounts.update_account(
                ctx, workspace_id=workspace_id, account_id=account_id, changes=changes, also=also
            )
            result.status = UPDATED
    elif dry_run:
        accounts.check_new_account(found.data)
        result.status = WOULD_CREATE
    else:
        view = accounts.create_account(ctx, workspace_id=workspace_id, data=found.data, also=also)
        result.account_id, result.status = view.id, CREATED


@dataclass
class _Pending:
    """A new, checked row waiting in the chunk being filled."""

    row: Row
    found: _Candidate
    result: RowResult
    new: NewAccount


def _pending(
    row: Row, found: _Candidate, result: RowResult, *, workspace_id: int, lang: str | None
) -> _Pending | None:
    """The row as its chunk will insert it, or None (``result`` says why it is invalid)."""
    assert found.data is not None
    try:
        account, _ = accounts.new_account(found.data, workspace_id=workspace_id)
    except FluenzrError as error:
        result.errors = [_error(error, secrets=found.secrets, lang=lang)]
        return None
    for name, value in found.warmup.items():
        setattr(account, name, value)
    return _Pending(row, found, result, NewAccount(account, found.data, found.tags))


def _flush(ctx: AppContext, chunk: list[_Pending], *, workspace_id: int, lang: str | None) -> None:
    """Write a chunk in one transaction; if the database refuses it, row by row instead, so
    the one bad row (an address created meanwhile…) is reported and the others written."""
    if not chunk:
        return
    try:
        ids = account_import_write.insert_accounts(ctx, [p.new for p in chunk])
    except (SQLAlchemyError, FluenzrError):
        log.info("import: a chunk of %d rows was refused; writing it row by row", len(chunk))
        for p in chunk:
            _one(
                ctx,
                p.row,
                p.found,
                p.result,
                workspace_id=workspace_id,
                dry_run=False,
                update=False,
                lang=lang,
            )
        return
    for p, account_id in zip(chunk, ids, strict=True):
        p.result.account_id, p.result.status = account_id, CREATED


Progress = Callable[[list[RowResult]], None]


def run_import(
    ctx: AppContext,
    parsed: ParsedFile,
    *,
    workspace_id: int,
    dry_run: bool = False,
    update: bool = False,
    lang: str | None = None,
    chunk_size: int = CHUNK_ROWS,
    on_progress: Progress | None = None,
) -> ImportReport:
    """Check (``dry_run``) or write every row; one row's failure never stops the others.

    New accounts are written ``chunk_size`` at a time (:func:`_flush`); an existing one
    (``update``) on its own. ``on_progress`` gets the results so far after each chunk."""
    started = time.perf_counter()
    existing = _existing(ctx, workspace_id)
    seen: dict[str, int] = {}
    report = ImportReport(
        dry_run=dry_run,
        update=update,
        encoding=parsed.encoding,
        delimiter=parsed.delimiter,
        mapping=parsed.mapping,
        ignored=parsed.ignored,
        rows=[],
    )
    chunk: list[_Pending] = []
    size = max(1, chunk_size)
    for number, row in enumerate(parsed.rows, start=1):
        result, found = _checked(row, existing=existing, seen=seen, lang=lang)
        report.rows.append(result)
        if found is not None and (dry_run or result.account_id is not None):
            _one(
                ctx,
                row,
                found,
                result,
                workspace_id=workspace_id,
                dry_run=dry_run,
                update=update,
                lang=lang,
            )
        elif found is not None:
            pending = _pending(row, found, result, workspace_id=workspace_id, lang=lang)
            if pending is not None:
                chunk.append(pending)
        if number % size == 0:  # at most ``size`` rows a chunk; every row before is final
            _flush(ctx, chunk, workspace_id=workspace_id, lang=lang)
            chunk = []
            if on_progress is not None:
                on_progress(report.rows)
    _flush(ctx, chunk, workspace_id=workspace_id, lang=lang)
    report.seconds = time.perf_counter() - started
    return report


def start_tests(
    ctx: AppContext,
    report: ImportReport,
    *,
    workspace_id: int,
    requested_by: int | None = None,
    lang: str | None = None,
) -> None:
    """ "Probar todas después de importar": one bulk Probar of what this run created or
    updated (the sending system runs it; its page shows live per-row status). A refusal (none
    imported, a run already going, the rate limit) is noted on the report, never raised."""
    if report.dry_run:
        return
    try:
        job = bulk_probar.start_bulk_probar(
            ctx,
            workspace_id=workspace_id,
            account_ids=report.account_ids,
            requested_by=requested_by,
        )
    except FluenzrError as error:
        report.test_error = _error(error, secrets=[], lang=lang)
        return
    report.test_job_id = job.id


def record_job(
    ctx: AppContext, report: ImportReport, *, workspace_id: int, options: dict[str, Any]
) -> JobView:
    """The run as a finished ``import`` job (per-row results, no secrets), for the API and pages.

    Written ``done`` at once: the worker only claims ``pending`` jobs, so it never runs one."""
    now = ctx.clock.now()
    with transaction(ctx.sessions) as session:
        job = new_job(
            workspace_id=workspace_id,
            kind=KIND,
            options=options,
            result=report.to_dict(),
            now=now,
        )
        session.add(job)
        session.flush()
        job_id = job.id
        if not report.dry_run:  # a preview changes nothing, so it tells nobody
            bulk_jobs.record_finished(
                session,
                workspace_id=workspace_id,
                job_id=job_id,
                kind=KIND,
                succeeded=len(report.account_ids),
                failed=report.counts.get(INVALID, 0),
                total=len(report.rows),
            )
    report.job_id = job_id
    return get_job(ctx, workspace_id=workspace_id, job_id=job_id)


def get_import_job(ctx: AppContext, *, workspace_id: int, job_id: int) -> JobView:
    """An import job of this workspace (any other job id reads as not found)."""
    job = get_job(ctx, workspace_id=workspace_id, job_id=job_id)
    if job.kind != KIND:
        raise NotFoundError(ErrorCode.JOB_NOT_FOUND, params={"id": job_id})
    return job


def results_csv(result: dict[str, Any]) -> str:
    """The per-row results as CSV; every cell made inert for spreadsheets (no formula runs)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["line", "email", "status", "account_id", "field", "code", "message"])
    for row in result.get("rows", []):
        problems = row["errors"] or [{}]
        for problem in problems:
            cells = [
                str(row["line"]),
                row["email"],
                row["status"],
                "" if row["account_id"] is None else str(row["account_id"]),
                str(problem.get("field", "")),
                str(problem.get("code", "")),
                str(problem.get("message", "")),
            ]
            writer.writerow([escape_formula(cell) for cell in cells])
    return out.getvalue()
