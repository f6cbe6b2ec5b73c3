"""Entry point: global options, then each noun registers its commands.

One module per noun (``register(app, accounts=...)``): accounts, account_pacing and probar (the
``accounts`` group), autodetect, presets, home (``init``), keys, send, outbox, worker, classify_eml
(``classify``), events, webhooks, suppression, serve, tokens, users.

Start-up is kept to Typer alone: a noun module imports only Typer and the CLI helpers at load
time; what a command needs (config, services, SQLAlchemy, Rich, asyncio…) is imported inside it,
so ``fluenzr --help`` pays for nothing and each command pays only for what it uses.
tests/unit/test_cli_startup.py guards it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from fluenzr.cli import (
    account_import,
    account_pacing,
    account_tags,
    accounts,
    autodetect,
    classify_eml,
    domains,
    events,
    home,
    keys,
    oauth_connect,
    outbox,
    presets,
    probar,
    send,
    serve,
    suppression,
    tokens,
    users,
    webhooks,
    worker,
)
from fluenzr.cli.lazy_commands import defer_commands
from fluenzr.cli.output import handled
from fluenzr.cli.state import STATE

app = typer.Typer(
    name="fluenzr",
    help="FluenzR: connect mailboxes over SMTP/IMAP, send safely, detect replies.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    # Plain Click help: Rich's help renderer alone costs more than the 0.2 s `--help` budget.
    rich_markup_mode=None,
)
accounts_group = typer.Typer(
    help="Cuentas de Email: add, list, show, edit, remove, test.", no_args_is_help=True
)
app.add_typer(accounts_group, name="accounts")


@app.callback()
def _global(
    home: Annotated[Path | None, typer.Option(help="Data folder (FLUENZR_HOME).")] = None,
    database_url: Annotated[
        str | None, typer.Option(help="Database URL (FLUENZR_DATABASE_URL).")
    ] = None,
    lang: Annotated[str | None, typer.Option(help="Language: es, en, fr (FLUENZR_LANG).")] = None,
) -> None:
    from fluenzr.i18n import set_language  # lazy: babel; `fluenzr --help` never gets here

    STATE.close()
    STATE.overrides = {"home": home, "database_url": database_url, "lang": lang}
    STATE._settings = None
    with handled():
        settings = STATE.settings()
    set_language(lang or settings.lang)


# Order = order in `fluenzr --help` (Typer lists commands as registered).
for noun in (
    home,
    presets,
    keys,
    accounts,
    account_import,
    oauth_connect,
    autodetect,
    probar,
    domains,
    send,
    worker,
    outbox,
    account_pacing,
    account_tags,
    classify_eml,
    events,
    webhooks,
    suppression,
    serve,
    tokens,
    users,
):
    noun.register(app, accounts=accounts_group)
# After every noun: a command's parameters are built only when it runs (or shows its own help).
defer_commands(app)


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
