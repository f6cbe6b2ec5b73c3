"""`fluenzr accounts import FILE.csv`: many mailboxes at once, one result per row.

The file is read into memory (a regular file, at most the import cap) and never copied; each
row is checked with the "+ SMTP" rules, each valid row written on its own, each bad one shown
with its line, column and fix. The exit code is 1 when any row failed.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from fluenzr.cli.output import console, handled, print_json, table
from fluenzr.cli.state import STATE
from fluenzr.error_codes import ErrorCode
from fluenzr.errors import ValidationError

if TYPE_CHECKING:
    from fluenzr.services.account_import import ImportReport

Opt = typer.Option


def register(app: typer.Typer, *, accounts: typer.Typer) -> None:
    """Add ``accounts import`` to the `accounts` group."""
    accounts.command("import")(cmd_import)


def read_upload(path: Path, *, limit: int) -> bytes:
    """A local file's bytes, at most ``limit + 1`` (so "too large" is still seen); regular
    files only, opened non-blocking so a FIFO cannot hang the command."""
    shown = str(path.expanduser())
    unreadable = ValidationError(ErrorCode.FILE_UNREADABLE, params={"field": "file", "path": shown})
    try:
        fd = os.open(shown, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        raise unreadable from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise unreadable
        chunks: list[bytes] = []
        size = 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks)
    except OSError:
        raise unreadable from None
    finally:
        os.close(fd)


def _mapping(pairs: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs:
        header, sep, column = pair.partition("=")
        if not sep:
            raise ValidationError(
                ErrorCode.IMPORT_MAPPING_INVALID, params={"field": "map", "column": pair[:80]}
            )
        out[header.strip()] = column.strip()
    return out


def _detail(row: dict[str, Any]) -> str:
    from rich.markup import escape  # lazy: Rich only for text output

    from fluenzr.i18n import translate

    parts = [f"{e['message']} — {e['hint']}" for e in row["errors"]]
    parts += [
        translate("import.formula_warning", field=w.split(":", 1)[1])
        for w in row["warnings"]
        if w.startswith("formula:")
    ]
    return escape("\n".join(parts))


def _print(report: ImportReport) -> None:
    from rich.markup import escape  # lazy: Rich only for text output

    from fluenzr.i18n import translate

    data = report.to_dict()
    title = translate("import.title_dry" if report.dry_run else "import.title")
    columns = [translate(f"import.col.{c}") for c in ("line", "email", "status", "detail")]
    rows = [
        (r["line"], escape(r["email"]), translate(f"import.status.{r['status']}"), _detail(r))
        for r in data["rows"]
    ]
    table(title, columns, rows)
    counts = ", ".join(
        f"{count} {translate(f'import.status.{status}')}"
        for status, count in data["counts"].items()
    )
    out = console()
    out.print(escape(translate("import.summary", total=len(report.rows), counts=counts)))
    mapping = ", ".join(f"{h} → {c}" for h, c in report.mapping.items())
    out.print(escape(translate("import.mapping", mapping=mapping)), style="dim")
    if report.ignored:
        ignored = ", ".join(report.ignored)
        out.print(escape(translate("import.ignored", ignored=ignored)), style="dim")


def cmd_import(
    file: Annotated[Path, typer.Argument(help="CSV file: one row per mailbox (docs).")],
    dry_run: Annotated[bool, Opt("--dry-run", help="Check every row; write nothing.")] = False,
    update: Annotated[
        bool, Opt("--update", help="Apply the file's columns to accounts that already exist.")
    ] = False,
    map_: Annotated[
        list[str] | None,
        Opt("--map", help='Column mapping override: "File header=our_column" (repeatable).'),
    ] = None,
    test: Annotated[
        bool, Opt("--test", help="Then run Probar on every account created or updated.")
    ] = False,
    as_json: Annotated[bool, Opt("--json", help="Print one JSON document.")] = False,
) -> None:
    """Import accounts from a CSV (Instantly, Smartlead, lemlist… exports work as they are)."""
    # lazy: the services pull in SQLAlchemy, the vault and email-validator; `--help` never pays
    from fluenzr.services import account_csv
    from fluenzr.services.account_import import run_import

    with handled(as_json=as_json):
        data = read_upload(file, limit=account_csv.MAX_BYTES)
        parsed = account_csv.parse_csv(data, mapping=_mapping(map_ or []))
        del data  # the passwords live on only in the parsed rows, until the run ends
        report = run_import(
            STATE.app(),
            parsed,
            workspace_id=STATE.workspace_id(),
            dry_run=dry_run,
            update=update,
        )
        tested = _test(report, as_json=as_json) if test and not dry_run else None
        if as_json:
            print_json(report.to_dict() | ({"test": tested} if tested is not None else {}))
        elif tested is None:
            _print(report)
    passed = tested is None or bool(tested.get("ok"))
    if not report.ok or not passed:
        raise typer.Exit(1)


def _test(report: ImportReport, *, as_json: bool) -> dict[str, Any]:
    """Probar on the imported accounts, in this process (the CLI may open credentials), with
    the bulk Probar's bounds: its progress bar and summary for people, its rows in the JSON."""
    if not report.account_ids:
        return {"ok": True, "total": 0}
    if not as_json:
        # lazy: the bulk Probar command module loads Rich, asyncio and the mail clients
        from fluenzr.cli import bulk_probar as bulk_cli

        _print(report)
        try:
            bulk_cli.run(report.account_ids, all_accounts=False, tag=None, send=True, as_json=False)
        except typer.Exit as done:
            return {"ok": done.exit_code == 0}
        return {"ok": True}
    # lazy: asyncio and the mail clients only for --test
    import asyncio

    from fluenzr.services import bulk_probar_run

    ctx, workspace = STATE.app(), STATE.workspace_id()
    targets = bulk_probar_run.targets(ctx, workspace_id=workspace, account_ids=report.account_ids)
    rows = asyncio.run(
        bulk_probar_run.probe_all(ctx, targets, workspace_id=workspace, send_test_mail=True)
    )
    summary = bulk_probar_run.summary(row.outcome for row in rows)
    return {
        "ok": summary["failed"] == 0 and summary["throttled"] == 0,
        "total": len(rows),
        "summary": summary,
        "rows": [row.to_dict() for row in rows],
    }
