"""`fluenzr autodetect`: propose SMTP/IMAP settings for an address."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from fluenzr.cli.output import console, handled, print_json, table
from fluenzr.cli.state import STATE

if TYPE_CHECKING:
    from fluenzr.diagnose.autodetect import Detection
    from fluenzr.diagnose.candidates import ServerProposal

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]


def register(app: typer.Typer, *, accounts: typer.Typer) -> None:
    """Add `autodetect` to the root app."""
    app.command("autodetect")(cmd_autodetect)


def _server_line(proposal: ServerProposal) -> str:
    from fluenzr.core.endpoints import Security  # lazy: see cmd_autodetect
    from fluenzr.i18n import translate

    return (
        f"{proposal.host}:{proposal.port} {Security(proposal.security).label}  "
        f"({translate('field.username')}: {proposal.username})"
    )


def _print_detection(detection: Detection) -> None:
    # lazy: see cmd_autodetect
    from fluenzr.i18n import translate
    from fluenzr.presets.catalogue import get_preset

    out = console()
    out.print(f"[bold]{translate('autodetect.title', email=detection.email)}[/]")
    for protocol, chosen in (("SMTP", detection.smtp), ("IMAP", detection.imap)):
        if chosen is None:
            out.print(f"  {protocol}: —")
            continue
        source = translate(f"autodetect.source.{chosen.source.value}")
        confidence = translate(f"autodetect.confidence.{chosen.confidence.value}")
        out.print(
            f"  [bold]{protocol}[/]: {_server_line(chosen)}  "
            f"[dim]{source} · {confidence} · {chosen.detail}[/]"
        )
    provider = detection.smtp.provider if detection.smtp else None
    note = get_preset(provider).note_key if provider else None
    if note:
        out.print(f"  [yellow]{translate(note)}[/]")
    others = [p for p in detection.proposals if p not in (detection.smtp, detection.imap)]
    if others:
        out.print(f"{translate('autodetect.alternatives')}:")
        for proposal in others:
            source = translate(f"autodetect.source.{proposal.source.value}")
            line = f"{proposal.protocol.upper()}: {_server_line(proposal)}"
            out.print(f"  {line}  [dim]{source} · {proposal.detail}[/]", highlight=False)
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
        out.print(f"[yellow]{translate('autodetect.none', domain=detection.domain)}[/]")


def cmd_autodetect(
    email: Annotated[str, typer.Argument(help="Email: full address.")],
    as_json: JsonOpt = False,
) -> None:
    """Propose SMTP/IMAP settings for an address (presets, autoconfig, DNS SRV/MX, probes)."""
    # lazy: asyncio, dnspython, httpx and the diagnose domain load only for this command
    import asyncio

    from fluenzr.diagnose.autodetect import autodetect, default_seams

    with handled(as_json=as_json):
        seams = default_seams(STATE.settings())
        detection = asyncio.run(autodetect(email, seams=seams))
    if as_json:
        print_json(detection.to_dict())
    else:
        _print_detection(detection)
    raise typer.Exit(0 if detection.ok else 1)
