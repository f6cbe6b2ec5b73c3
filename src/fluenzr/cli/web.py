"""CLI commands of the web area: ``serve``, ``tokens`` and ``users``."""

from __future__ import annotations

from typing import Annotated, Literal

import typer

from fluenzr.cli.output import console, handled, print_json, table
from fluenzr.cli.state import STATE
from fluenzr.core.secret import Secret
from fluenzr.error_codes import ErrorCode
from fluenzr.i18n import translate

ServeRole = Literal["all", "web"]


def _serve(
    host: Annotated[str | None, typer.Option(help="Address to bind (FLUENZR_HTTP_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (FLUENZR_HTTP_PORT).")] = None,
    role: Annotated[
        str,
        typer.Option(
            help="all: UI + API + sending system in one process (default). "
            "web: UI + API only, with the vault's public key (run `fluenzr worker` apart)."
        ),
    ] = "all",
) -> None:
    """Serve the web UI and the REST API (http://127.0.0.1:8000 by default)."""
    import uvicorn

    from fluenzr.config import load_settings
    from fluenzr.server import create_app
    from fluenzr.services.context import open_app

    with handled():
        if role not in ("all", "web"):
            from fluenzr.errors import ValidationError

            raise ValidationError(ErrorCode.INVALID_INPUT, params={"field": "role"})
        overrides = dict(STATE.overrides)
        if role == "web":
            overrides["vault_read_only"] = True
        settings = load_settings(**overrides, http_host=host, http_port=port)
        ctx = open_app(settings)
    app = create_app(ctx, role="web" if role == "web" else "all")
    console.print(f"FluenzR: http://{settings.http_host}:{settings.http_port}/ ({role})")
    config = uvicorn.Config(
        app,
        host=settings.http_host,
        port=settings.http_port,
        log_level=settings.log_level.lower(),
        proxy_headers=False,
    )
    try:
        uvicorn.Server(config).run()
    finally:
        ctx.close()


def _password(value: str | None) -> Secret:
    if value:
        return Secret(value)
    return Secret(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


def _users_add(
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
    import os

    from fluenzr.services.users import create_user

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
        console.print(f"{user.email} (id {user.id}) → workspace {ws}")


def _tokens_create(
    user: Annotated[str, typer.Option("--user", help="Email of the user the token acts as.")],
    name: Annotated[str, typer.Option(help="A label to recognise the token.")] = "cli",
    workspace_id: Annotated[
        int | None, typer.Option(help="Workspace (default: the user's first).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Create an API token (shown once; stored hashed)."""
    from fluenzr.services import tokens, users

    with handled(as_json=as_json):
        ctx = STATE.app()
        found = users.user_by_email(ctx, user)
        spaces = users.workspaces_of(ctx, found.id)
        ws = workspace_id if workspace_id is not None else (spaces[0].id if spaces else 0)
        view, secret = tokens.create_token(ctx, user_id=found.id, workspace_id=ws, name=name)
    if as_json:
        print_json({"ok": True, "id": view.id, "name": view.name, "token": secret.reveal()})
    else:
        console.print(secret.reveal(), markup=False, highlight=False)


def _tokens_list(
    user: Annotated[str, typer.Option("--user", help="Email of the user.")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List a user's API tokens (never their values)."""
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


def _tokens_revoke(
    token_id: Annotated[int, typer.Argument(help="Token id (see `tokens list`).")],
    user: Annotated[str, typer.Option("--user", help="Email of the token's user.")],
) -> None:
    """Revoke an API token."""
    from fluenzr.services import tokens, users

    with handled():
        ctx = STATE.app()
        tokens.revoke_token(ctx, user_id=users.user_by_email(ctx, user).id, token_id=token_id)


def register(app: typer.Typer, *, accounts: typer.Typer) -> None:
    """Add this area's commands to the root app and the `accounts` group."""
    app.command("serve")(_serve)
    tokens = typer.Typer(help="API tokens (Bearer) for the REST API.", no_args_is_help=True)
    tokens.command("create")(_tokens_create)
    tokens.command("list")(_tokens_list)
    tokens.command("revoke")(_tokens_revoke)
    app.add_typer(tokens, name="tokens")
    users = typer.Typer(help="Users and workspaces of the web UI.", no_args_is_help=True)
    users.command("add")(_users_add)
    app.add_typer(users, name="users")
