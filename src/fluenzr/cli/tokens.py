"""`fluenzr tokens create|list|revoke`: API tokens (Bearer) for the REST API."""

from __future__ import annotations

from typing import Annotated

import typer

from fluenzr.cli.output import console, handled, print_json, table
from fluenzr.cli.state import STATE
from fluenzr.error_codes import ErrorCode


def register(app: typer.Typer, *, accounts: typer.Typer) -> None:
    """Add the `tokens` group to the root app."""
    tokens = typer.Typer(help="API tokens (Bearer) for the REST API.", no_args_is_help=True)
    tokens.command("create")(cmd_tokens_create)
    tokens.command("list")(cmd_tokens_list)
    tokens.command("revoke")(cmd_tokens_revoke)
    app.add_typer(tokens, name="tokens")


def cmd_tokens_create(
    user: Annotated[str, typer.Option("--user", help="Email of the user the token acts as.")],
    name: Annotated[str, typer.Option(help="A label to recognise the token.")] = "cli",
    workspace_id: Annotated[
        int | None, typer.Option(help="Workspace (required when the user is in several).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Create an API token (shown once; stored hashed)."""
    from fluenzr.errors import ValidationError  # lazy: as the services below
    from fluenzr.services import tokens, users  # lazy: SQLAlchemy, only for these commands

    with handled(as_json=as_json):
        ctx = STATE.app()
        found = users.user_by_email(ctx, user)
        spaces = users.workspaces_of(ctx, found.id)
        if workspace_id is None and len(spaces) > 1:  # never guess "the first" for them
            raise ValidationError(
                ErrorCode.TOKEN_WORKSPACE_REQUIRED, params={"field": "workspace_id"}
            )
        ws = workspace_id if workspace_id is not None else (spaces[0].id if spaces else 0)
        view, secret = tokens.create_token(ctx, user_id=found.id, workspace_id=ws, name=name)
    if as_json:
        print_json({"ok": True, "id": view.id, "name": view.name, "token": secret.reveal()})
    else:
        console().print(secret.reveal(), markup=False, highlight=False)


def cmd_tokens_list(
    user: Annotated[str, typer.Option("--user", help="Email of the user.")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List a user's API tokens (never their values)."""
    # lazy: see cmd_tokens_create
    from fluenzr.i18n import translate
    from fluenzr.services import tokens, users

    with handled(as_json=as_json):
        ctx = STATE.app()
        rows = tokens.list_tokens(ctx, user_id=users.user_by_email(ctx, user).id)
    if as_json:
        print_json({"ok": True, "tokens": [r.model_dump(mode="json") for r in rows]})
        return
    table(
        translate("web.tokens.title"),
        ["id", "name", "prefix", "created", "last used"],
        [(r.id, r.name, r.prefix + "…", r.created_at, r.last_used_at) for r in rows],
    )


def cmd_tokens_revoke(
    token_id: Annotated[int, typer.Argument(help="Token id (see `tokens list`).")],
    user: Annotated[str, typer.Option("--user", help="Email of the token's user.")],
) -> None:
    """Revoke an API token."""
    from fluenzr.services import tokens, users  # lazy: see cmd_tokens_create

    with handled():
        ctx = STATE.app()
        tokens.revoke_token(ctx, user_id=users.user_by_email(ctx, user).id, token_id=token_id)
