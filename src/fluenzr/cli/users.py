"""`fluenzr users add`: users and workspaces of the web UI."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from fluenzr.cli.output import console, handled, print_json
from fluenzr.cli.state import STATE
from fluenzr.core.secret import Secret


def register(app: typer.Typer, *, accounts: typer.Typer) -> None:
    """Add the `users` group to the root app."""
    users = typer.Typer(help="Users and workspaces of the web UI.", no_args_is_help=True)
    users.command("add")(cmd_users_add)
    app.add_typer(users, name="users")


def _password(value: str | None) -> Secret:
    if value:
        return Secret(value)
    return Secret(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


def cmd_users_add(
    email: Annotated[str, typer.Argument(help="Login email.")],
    name: Annotated[str, typer.Option(help="Display name.")] = "",
    workspace: Annotated[
        str | None, typer.Option(help="Create a new workspace with this name for the user.")
    ] = None,
    workspace_id: Annotated[int | None, typer.Option(help="Join this existing workspace.")] = None,
    admin: Annotated[bool, typer.Option(help="Administrator of the installation.")] = False,
    password_env: Annotated[
        str | None, typer.Option(help="Read the password from this environment variable.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Add a user (to the first workspace, an existing one, or a new one)."""
    from fluenzr.services.users import create_user  # lazy: SQLAlchemy, only for this command

    with handled(as_json=as_json):
        password = _password(os.environ.get(password_env) if password_env else None)
        user, ws = create_user(
            STATE.app(),
            email=email,
            password=password,
            name=name,
            workspace_id=workspace_id,
            new_workspace=workspace,
            is_admin=admin,
        )
    if as_json:
        print_json({"ok": True, "user": user.model_dump(), "workspace_id": ws})
    else:
        console().print(f"{user.email} (id {user.id}) → workspace {ws}")
