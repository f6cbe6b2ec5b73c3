"""CLI commands of the diagnose area: `fluenzr accounts test` (Probar) and `fluenzr autodetect`."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from fluenzr.cli.output import console, handled, print_json, table
from fluenzr.cli.state import STATE
from fluenzr.core.endpoints import Security
from fluenzr.diagnose.autodetect import Detection, autodetect, default_seams
from fluenzr.diagnose.candidates import ServerProposal
from fluenzr.diagnose.report import ProbarReport
from fluenzr.diagnose.runner import Status, StepResult
from fluenzr.i18n import translate
from fluenzr.presets.catalogue import get_preset
from fluenzr.services.account_probar import run_probar
from fluenzr.services.accounts import get_account

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]
_MARKS = {
    Status.OK: "[green]✓[/]",
    Status.WARNING: "[yellow]![/]",
    Status.FAILED: "[bold red]✗[/]",
    Status.SKIPPED: "[dim]–[/]",
}


def _print_step(step: StepResult) -> None:
    label = translate(f"step.{step.name}")
    timing = f"{step.duration_ms:>5} ms" if step.status is not Status.SKIPPED else " " * 8
    detail = step.detail or (translate("probar.skipped") if step.status is Status.SKIPPED else "")
    console.print(f"{_MARKS[step.status]} {label:<32} {timing}  [dim]{detail}[/]", highlight=False)


def _print_outcome(report: ProbarReport) -> None:
    for warning in report.warnings:
        console.print(f"[yellow]{translate('probar.warning')}:[/] {warning.message}")
        if warning.hint:
            console.print(f"  {warning.hint}")
    error = report.error_dict()
    if error is None:
        console.print(f"[bold green]{translate('probar.ok', email=report.email)}[/]")
        return
    step = translate(f"step.{error.get('step', '')}")
    console.print(f"[bold red]{translate('probar.failed', step=step)}[/]")
    category = translate(f"category.{error['category']}")
    console.print(f"{translate('probar.category')}: [bold]{category}[/] ({error['code']})")
    console.print(f"{translate('cli.error')}: {error['message']}", highlight=False)
    if error.get("fingerprint"):
        console.print(translate("probar.fingerprint", fingerprint=error["fingerprint"]))
    console.print(f"[yellow]{translate('cli.hint')}:[/] {error['hint']}", highlight=False)


def cmd_test(
    account_id: Annotated[int, typer.Argument(help="Account id.")],
    no_send: Annotated[
        bool, typer.Option("--no-send", help="Do not send the test email to the account.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Probar: DNS, TCP, TLS, EHLO, AUTH, a test email to yourself, then IMAP (if set)."""
    with handled(as_json=as_json):
        ctx = STATE.app()
        view = get_account(ctx, workspace_id=STATE.workspace_id(), account_id=account_id)
        if not as_json:
            console.print(f"[bold]{translate('probar.title', email=view.email)}[/]")
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


def _server_line(proposal: ServerProposal) -> str:
    return (
        f"{proposal.host}:{proposal.port} {Security(proposal.security).label}  "
        f"({translate('field.username')}: {proposal.username})"
    )


def _print_detection(detection: Detection) -> None:
    console.print(f"[bold]{translate('autodetect.title', email=detection.email)}[/]")
    for protocol, chosen in (("SMTP", detection.smtp), ("IMAP", detection.imap)):
        if chosen is None:
            console.print(f"  {protocol}: —")
            continue
        source = translate(f"autodetect.source.{chosen.source.value}")
        confidence = translate(f"autodetect.confidence.{chosen.confidence.value}")
        console.print(
            f"  [bold]{protocol}[/]: {_server_line(chosen)}  "
            f"[dim]{source} · {confidence} · {chosen.detail}[/]"
        )
    provider = detection.smtp.provider if detection.smtp else None
    note = get_preset(provider).note_key if provider else None
    if note:
        console.print(f"  [yellow]{translate(note)}[/]")
    others = [p for p in detection.proposals if p not in (detection.smtp, detection.imap)]
    if others:
        console.print(f"{translate('autodetect.alternatives')}:")
        for proposal in others:
            source = translate(f"autodetect.source.{proposal.source.value}")
            line = f"{proposal.protocol.upper()}: {_server_line(proposal)}"
            console.print(f"  {line}  [dim]{source} · {proposal.detail}[/]", highlight=False)
    rows = [
        (
            translate(f"autodetect.source.{r.source.value}"),
            "✓" if r.found else "✗",
            f"{r.duration_ms} ms",
            r.detail,
        )
        for r in detection.lookups
    ]
    table(translate("autodetect.lookups"), ["", "", "", ""], rows)
    if not detection.ok:
        console.print(f"[yellow]{translate('autodetect.none', domain=detection.domain)}[/]")


def cmd_autodetect(
    email: Annotated[str, typer.Argument(help="Email: full address.")],
    as_json: JsonOpt = False,
) -> None:
    """Propose SMTP/IMAP settings for an address (presets, autoconfig, DNS SRV/MX, probes)."""
    with handled(as_json=as_json):
        seams = default_seams(STATE.settings())
        detection = asyncio.run(autodetect(email, seams=seams))
    if as_json:
        print_json(detection.to_dict())
    else:
        _print_detection(detection)
    raise typer.Exit(0 if detection.ok else 1)


def register(app: typer.Typer, *, accounts: typer.Typer) -> None:
    """Add this area's commands to the root app and the `accounts` group."""
    app.command("autodetect")(cmd_autodetect)
    accounts.command("test")(cmd_test)
