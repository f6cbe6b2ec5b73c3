"""`fluenzr presets`: the provider presets an account can start from."""

from __future__ import annotations

from typing import Annotated

import typer

from fluenzr.cli.output import print_json, table

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]


def register(app: typer.Typer, *, accounts: typer.Typer) -> None:
    """Add `presets` to the root app."""
    app.command("presets")(cmd_presets)


def cmd_presets(as_json: JsonOpt = False) -> None:
    """List provider presets (OVH, Gandi, Zoho, Infomaniak, ProtonMail Bridge, custom)."""
    from fluenzr.presets.catalogue import list_presets  # lazy: pydantic models, catalogues

    presets = list_presets()
    if as_json:
        print_json([p.model_dump(mode="json") for p in presets])
        return
    from fluenzr.i18n import translate  # lazy: catalogues only for text output

    rows = [
        (
            p.key,
            p.name,
            f"{p.smtp_host}:{p.smtp_port} {p.smtp_security}" if p.smtp_host else "—",
            f"{p.imap_host}:{p.imap_port} {p.imap_security}" if p.imap_host else "—",
            translate(p.note_key) if p.note_key else "",
        )
        for p in presets
    ]
    table(translate("presets.title"), ["key", "name", "SMTP", "IMAP", ""], rows)
