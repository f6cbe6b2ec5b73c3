"""`fluenzr accounts test`: Probar, the step-by-step test of an account's servers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from fluenzr.cli.output import console, handled, print_json
from fluenzr.cli.state import STATE

if TYPE_CHECKING:
    from fluenzr.diagnose.report import ProbarReport
    from fluenzr.diagnose.runner import StepResult

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]
_MARKS = {
    "ok": "[green]✓[/]",
    "warning": "[yellow]![/]",
    "failed": "[bold red]✗[/]",
    "skipped": "[dim]–[/]",
}


def register(app: typer.Typer, *, accounts: typer.Typer) -> None:
    """Add `test` to the `accounts` group."""
    accounts.command("test")(cmd_test)


def _print_step(step: StepResult) -> None:
    from fluenzr.diagnose.runner import Status  # lazy: the diagnose domain, only for Probar
    from fluenzr.i18n import translate

    label = translate(f"step.{step.name}")
    timing = f"{step.duration_ms:>5} ms" if step.status is not Status.SKIPPED else " " * 8
    detail = step.detail or (translate("probar.skipped") if step.status is Status.SKIPPED else "")
    mark = _MARKS[step.status]  # Status is a StrEnum: its values are these keys
    console().print(f"{mark} {label:<32} {timing}  [dim]{detail}[/]", highlight=False)


def _print_outcome(report: ProbarReport) -> None:
    from fluenzr.i18n import translate  # lazy: catalogues only for text output

    out = console()
    for warning in report.warnings:
        out.print(f"[yellow]{translate('probar.warning')}:[/] {warning.message}")
        if warning.hint:
            out.print(f"  {warning.hint}")
    error = report.error_dict()
    if error is None:
        out.print(f"[bold green]{translate('probar.ok', email=report.email)}[/]")
        return
    step = translate(f"step.{error.get('step', '')}")
    out.print(f"[bold red]{translate('probar.failed', step=step)}[/]")
    category = translate(f"category.{error['category']}")
    out.print(f"{translate('probar.category')}: [bold]{category}[/] ({error['code']})")
    out.print(f"{translate('cli.error')}: {error['message']}", highlight=False)
    if error.get("fingerprint"):
        out.print(translate("probar.fingerprint", fingerprint=error["fingerprint"]))
    out.print(f"[yellow]{translate('cli.hint')}:[/] {error['hint']}", highlight=False)


def cmd_test(
    account_ids: Annotated[
        list[int] | None, typer.Argument(help="Account id(s); several run as a bulk test.")
    ] = None,
    all_accounts: Annotated[
        bool, typer.Option("--all", help="Test every account of the workspace.")
    ] = False,
    tag: Annotated[
        str | None, typer.Option("--tag", help="Test every account with this tag.")
    ] = None,
    no_send: Annotated[
        bool, typer.Option("--no-send", help="Do not send the test email to the account.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Probar: DNS, TCP, TLS, EHLO, AUTH, a test email to yourself, then IMAP (if set).

    With several ids, --all or --tag: every account, a few at a time per server host, with a
    progress bar and a summary by outcome (docs/bulk-probar.md)."""
    ids = list(account_ids or [])
    if all_accounts or tag is not None or len(ids) != 1:
        from fluenzr.cli import bulk_probar  # lazy: only for a bulk test

        if not ids and not all_accounts and tag is None:
            _choose_accounts(as_json=as_json)
        bulk_probar.run(ids, all_accounts=all_accounts, tag=tag, send=not no_send, as_json=as_json)
        return
    _test_one(ids[0], no_send=no_send, as_json=as_json)


def _choose_accounts(*, as_json: bool) -> None:
    from fluenzr.error_codes import ErrorCode  # lazy: only for this mistake
    from fluenzr.errors import ValidationError

    with handled(as_json=as_json):
        raise ValidationError(
            ErrorCode.BULK_PROBAR_EMPTY,
            params={"field": "account_ids"},
            hint_key="fleetprobar.cli.choose",
        )


def _test_one(account_id: int, *, no_send: bool, as_json: bool) -> None:
    # lazy: asyncio, the mail clients and the diagnose domain load only for Probar
    import asyncio

    from fluenzr.i18n import translate
    from fluenzr.services.account_probar import run_probar
    from fluenzr.services.accounts import get_account

    with handled(as_json=as_json):
        ctx = STATE.app()
        view = get_account(ctx, workspace_id=STATE.workspace_id(), account_id=account_id)
        if not as_json:
            console().print(f"[bold]{translate('probar.title', email=view.email)}[/]")
        report = asyncio.run(
            run_probar(
                ctx,
                account_id=account_id,
                workspace_id=STATE.workspace_id(),
                send_test_mail=not no_send,
                on_step=None if as_json else _print_step,
            )
        )
    if as_json:
        print_json(report.to_dict())
    else:
        _print_outcome(report)
    raise typer.Exit(0 if report.ok else 1)
