"""`fluenzr accounts tag ID… --add T | --remove T`: group mailboxes of a fleet."""

from __future__ import annotations

from typing import Annotated

import typer

from fluenzr.cli.output import console, handled, print_json
from fluenzr.cli.state import STATE
from fluenzr.error_codes import ErrorCode

Opt = typer.Option
JsonOpt = Annotated[bool, Opt("--json", help="Print one JSON document.")]


def register(app: typer.Typer, *, accounts: typer.Typer) -> None:
    """Add this noun's commands to the `accounts` group."""
    accounts.command("tag")(cmd_tag)


def cmd_tag(
    account_ids: Annotated[list[int], typer.Argument(help="Account ids.")],
    add: Annotated[str | None, Opt("--add", help="Put this tag on the accounts.")] = None,
    remove: Annotated[str | None, Opt("--remove", help="Take this tag off.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Add or remove a tag on accounts (lower-case letters, digits, . _ : -; up to 64)."""
    # lazy: SQLAlchemy Core and the services only when the command runs
    from fluenzr.errors import ValidationError
    from fluenzr.i18n import translate
    from fluenzr.services import account_tags

    with handled(as_json=as_json):
        if (add is None) == (remove is None):
            raise ValidationError(ErrorCode.INVALID_INPUT, params={"field": "tag"})
        engine, workspace = STATE.app().engine, STATE.workspace_id()
        if add is not None:
            changed = account_tags.add_tag(
                engine, workspace_id=workspace, account_ids=account_ids, tag=add
            )
        else:
            changed = account_tags.remove_tag(
                engine, workspace_id=workspace, account_ids=account_ids, tag=remove or ""
            )
        tags = account_tags.tags_of_accounts(
            engine, workspace_id=workspace, account_ids=account_ids
        )
        if as_json:
            print_json(
                {"changed": changed, "accounts": [{"id": i, "tags": t} for i, t in tags.items()]}
            )
            return
        key = "fleet.cli.tag_added" if add is not None else "fleet.cli.tag_removed"
        tag = account_tags.normalise(add if add is not None else remove or "")
        console().print(translate(key, tag=tag, count=changed))
