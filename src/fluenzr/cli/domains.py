"""`fluenzr domains check DOMAIN`: the deliverability of a sending domain (MX, SPF, DMARC)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from fluenzr.cli.output import console, handled, print_json
from fluenzr.cli.state import STATE

if TYPE_CHECKING:
    from fluenzr.diagnose.domain_checks.findings import DomainReport

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]
_MARKS = {"ok": "[green]✓[/]", "warning": "[yellow]![/]", "error": "[bold red]✗[/]"}


def register(app: typer.Typer, *, accounts: typer.Typer) -> None:
    """Add the `domains` group to the root app."""
    group = typer.Typer(help="Sending domains: deliverability checks.", no_args_is_help=True)
    group.command("check")(cmd_check)
    app.add_typer(group, name="domains")


def _print(report: DomainReport) -> None:
    from fluenzr.diagnose.domain_checks.findings import most_serious_first
    from fluenzr.i18n import translate

    out = console()
    out.print(f"[bold]{translate('cli.domains.title', domain=report.domain)}[/]")
    out.print(translate("cli.domains.score", score=report.score))
    for finding in most_serious_first(report.findings):
        mark = _MARKS[finding.severity.value]
        out.print(f"{mark} {finding.check:<6} {finding.message()}", highlight=False)
        if finding.record:
            out.print(f"    [dim]{finding.record}[/]", highlight=False, markup=False)
        fix = finding.fix()
        if fix:
            out.print(f"    [yellow]{translate('cli.hint')}:[/] {fix}", highlight=False)


def cmd_check(
    domain: Annotated[str, typer.Argument(help="Domain (or an address at it).")],
    as_json: JsonOpt = False,
) -> None:
    """Check MX, SPF and DMARC of DOMAIN; exit 1 when a check finds an error."""
    import asyncio  # lazy: the diagnose domain loads only for this command

    from fluenzr.diagnose.domain_checks.findings import Severity
    from fluenzr.services.domain_checks import check_and_store

    with handled(as_json=as_json):
        ctx = STATE.app()
        report = asyncio.run(check_and_store(ctx, domain))
    if as_json:
        print_json(report.to_dict())
    else:
        _print(report)
    raise typer.Exit(1 if any(f.severity is Severity.ERROR for f in report.findings) else 0)
