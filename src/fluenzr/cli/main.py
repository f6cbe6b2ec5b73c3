"""Entry point: global options, then each area registers its commands.

Areas (one module each, ``register(app, accounts=...)``): accounts/presets/keys (foundation),
diagnose (Probar, autodetect), sending (send, outbox, worker, pause/resume), detection
(classify, events, webhooks), web (serve, tokens).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from fluenzr.cli import detection, diagnose, foundation, sending, web
from fluenzr.cli.output import handled
from fluenzr.cli.state import STATE
from fluenzr.i18n import set_language

app = typer.Typer(
    name="fluenzr",
    help="FluenzR: connect mailboxes over SMTP/IMAP, send safely, detect replies.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
accounts = typer.Typer(
    help="Cuentas de Email: add, list, show, edit, remove, test.", no_args_is_help=True
)
app.add_typer(accounts, name="accounts")


@app.callback()
def _global(
    home: Annotated[Path | None, typer.Option(help="Data folder (FLUENZR_HOME).")] = None,
    database_url: Annotated[
        str | None, typer.Option(help="Database URL (FLUENZR_DATABASE_URL).")
    ] = None,
    lang: Annotated[str | None, typer.Option(help="Language: es, en, fr (FLUENZR_LANG).")] = None,
) -> None:
    STATE.close()
    STATE.overrides = {"home": home, "database_url": database_url, "lang": lang}
    STATE._settings = None
    with handled():
        settings = STATE.settings()
    set_language(lang or settings.lang)


for area in (foundation, diagnose, sending, detection, web):
    area.register(app, accounts=accounts)


def main() -> None:
    try:
        app()
    except Exception as exc:  # a bug, not a user mistake: one line, details on demand
        if os.environ.get("FLUENZR_DEBUG"):
            raise
        sys.stderr.write(
            f"fluenzr: internal error: {type(exc).__name__} (FLUENZR_DEBUG=1 for details)\n"
        )
        sys.exit(1)
    finally:
        STATE.close()
