"""`fluenzr init`: the home folder, vault keys and database."""

from __future__ import annotations

from typing import Annotated

import typer

from fluenzr.cli.output import console, handled, print_json
from fluenzr.cli.state import STATE

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]


def register(app: typer.Typer, *, accounts: typer.Typer) -> None:
    """Add `init` to the root app."""
    app.command("init")(cmd_init)


def cmd_init(as_json: JsonOpt = False) -> None:
    """Create the home folder, vault keys and database (idempotent)."""
    from fluenzr.i18n import translate  # lazy: catalogues only for text output

    with handled(as_json=as_json):
        app = STATE.app()
        settings = STATE.settings()
        safe_url = app.engine.url.render_as_string(hide_password=True)
        if as_json:
            print_json({"ok": True, "home": str(settings.home), "database": safe_url})
        else:
            console().print(translate("init.done", home=settings.home, database=safe_url))
