"""`fluenzr keys rotate|rebind`: the vault's key pair and the binding of stored passwords."""

from __future__ import annotations

from typing import Annotated

import typer

from fluenzr.cli.output import console, handled, print_json
from fluenzr.cli.state import STATE

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]


def register(app: typer.Typer, *, accounts: typer.Typer) -> None:
    """Add the `keys` group to the root app."""
    keys = typer.Typer(help="Vault keys.", no_args_is_help=True)
    keys.command("rotate")(cmd_keys_rotate)
    keys.command("rebind")(cmd_keys_rebind)
    app.add_typer(keys, name="keys")


def cmd_keys_rotate(as_json: JsonOpt = False) -> None:
    """Re-wrap every stored secret for a new key pair and retire the old key."""
    # lazy: the vault and SQLAlchemy load only for this command
    from fluenzr.i18n import translate
    from fluenzr.services.keys import rotate

    with handled(as_json=as_json):
        report = rotate(STATE.app())
        if as_json:
            print_json({"ok": True, **report.__dict__})
        else:
            console().print(
                translate(
                    "keys.rotated",
                    count=report.rewrapped,
                    new_id=report.new_key_id,
                    old_ids=", ".join(report.retired) or "—",
                )
            )


def cmd_keys_rebind(as_json: JsonOpt = False) -> None:
    """Bind passwords stored before endpoint binding to their server (the worker does it too)."""
    # lazy: see cmd_keys_rotate
    from fluenzr.i18n import translate
    from fluenzr.services.keys import rebind

    with handled(as_json=as_json):
        count = rebind(STATE.app())
        if as_json:
            print_json({"ok": True, "rebound": count})
        else:
            console().print(translate("keys.rebound", count=count))
