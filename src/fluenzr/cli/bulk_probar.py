"""`fluenzr accounts test --all | --tag T | ID…`: Probar on many accounts, with a progress bar.

Runs in-process (the CLI may open credentials, as `accounts test ID` does) with the same bounds
as the sending system's bulk job: ``probar_per_host_concurrency`` per server host and
``bulk_probar_concurrency`` overall. Each result is stored on its account as for one test.

`fluenzr.cli.probar` imports this module only for a bulk test, so its imports (the services,
Rich's progress bar) cost nothing to any other command's start-up.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

from fluenzr.cli.output import console, handled, print_json, table
from fluenzr.cli.state import STATE
from fluenzr.error_codes import ErrorCode
from fluenzr.errors import ValidationError
from fluenzr.i18n import has_message, translate
from fluenzr.services import bulk_probar, bulk_probar_run
from fluenzr.services.bulk_probar_run import Row, Target
from fluenzr.services.context import AppContext

_MARKS = {"ok": "[green]✓[/]", "throttled": "[yellow]![/]", "failed": "[bold red]✗[/]"}


def run(
    account_ids: Sequence[int], *, all_accounts: bool, tag: str | None, send: bool, as_json: bool
) -> None:
    """Select, test, print; exit 1 when any account did not pass."""
    with handled(as_json=as_json):
        ctx = STATE.app()
        workspace = STATE.workspace_id()
        chosen = bulk_probar.select_accounts(
            ctx,
            workspace_id=workspace,
            account_ids=list(account_ids),
            all_accounts=all_accounts,
            tag=tag,
        )
        if account_ids and not all_accounts and tag is None:
            # Named ids must all exist here: a typo is an error, not a silent skip.
            bulk_probar.check_accounts(ctx, workspace_id=workspace, account_ids=chosen)
        targets = bulk_probar_run.targets(ctx, workspace_id=workspace, account_ids=chosen)
        if not targets:
            raise ValidationError(ErrorCode.BULK_PROBAR_EMPTY, params={"field": "account_ids"})
        per_host = ctx.settings.probar_per_host_concurrency
        if as_json:
            rows = asyncio.run(
                bulk_probar_run.probe_all(ctx, targets, workspace_id=workspace, send_test_mail=send)
            )
        else:
            title = translate("fleetprobar.cli.title", count=len(targets), per_host=per_host)
            console().print(f"[bold]{title}[/]")
            rows = asyncio.run(_with_progress(ctx, targets, workspace, send))
    counts = bulk_probar_run.summary(row.outcome for row in rows)
    ok = counts["failed"] == 0 and counts["throttled"] == 0
    if as_json:
        print_json(
            {
                "ok": ok,
                "total": len(rows),
                "per_host_concurrency": per_host,
                "summary": counts,
                "rows": [row.to_dict() for row in rows],
            }
        )
    else:
        _print_summary(rows, counts)
    raise typer.Exit(0 if ok else 1)


async def _with_progress(
    ctx: AppContext, targets: Sequence[Target], workspace: int, send: bool
) -> list[Row]:
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console(),
        transient=False,
    ) as progress:
        task = progress.add_task(translate("fleetprobar.cli.progress"), total=len(targets))

        def on_row(row: Row) -> None:
            mark = _MARKS.get(row.outcome, "?")
            code = f" [dim]{row.code}[/]" if row.code else ""
            progress.console.print(f"{mark} {row.email}{code}", highlight=False)
            progress.advance(task)

        return await bulk_probar_run.probe_all(
            ctx, targets, workspace_id=workspace, send_test_mail=send, on_row=on_row
        )


def _detail(code: str | None) -> str:
    if not code:
        return ""
    key = f"error.{code}.message"
    text = translate(key) if has_message(key, "en") else ""
    # A message that needs the failure's own parameters is not shown half-filled: the code is.
    return code if not text or "{" in text else f"{text} ({code})"


def _print_summary(rows: Sequence[Row], counts: dict[str, int]) -> None:
    table(
        translate("fleetprobar.summary"),
        [translate("fleetprobar.col.outcome"), translate("fleetprobar.cli.count")],
        [
            [translate(f"fleetprobar.outcome.{outcome}"), counts[outcome]]
            for outcome in ("ok", "throttled", "failed")
        ],
    )
    bad = [row for row in rows if row.outcome != "ok"]
    if bad:
        table(
            None,
            [
                "ID",
                translate("fleetprobar.col.account"),
                translate("fleetprobar.col.outcome"),
                translate("fleetprobar.col.detail"),
            ],
            [
                [
                    row.account_id,
                    row.email,
                    translate(f"fleetprobar.outcome.{row.outcome}"),
                    _detail(row.code),
                ]
                for row in bad
            ],
        )
