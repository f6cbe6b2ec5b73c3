"""`fluenzr accounts connect google|microsoft --email E`: OAuth for servers without a browser.

The RFC 8252 pattern for native apps: a one-shot HTTP listener on a loopback port receives the
redirect (``http://127.0.0.1:<port>/``); the command prints the authorization URL (open it in
any browser that can reach this machine's loopback, e.g. through ``ssh -L``), waits, and stores
the account. ``--account ID`` reconnects an existing one.
"""

from __future__ import annotations

from typing import Annotated

import typer

from fluenzr.cli.output import err_console, handled, print_json
from fluenzr.cli.state import STATE


def register(app: typer.Typer, *, accounts: typer.Typer) -> None:
    accounts.command("connect")(cmd_connect)


def cmd_connect(
    provider: Annotated[str, typer.Argument(help="google or microsoft.")],
    email: Annotated[str, typer.Option("--email", help="The mailbox to connect.")] = "",
    account_id: Annotated[
        int | None, typer.Option("--account", help="Reconnect this account (keeps it).")
    ] = None,
    port: Annotated[int, typer.Option("--port", help="Loopback port (0: any free one).")] = 0,
    wait: Annotated[float, typer.Option("--wait", help="Seconds to wait for the answer.")] = 300,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
) -> None:
    """Connect a Google or Microsoft mailbox with OAuth 2.0 (PKCE, loopback redirect)."""
    import secrets  # lazy: with the listener, ~0.05 s of start-up no other command needs

    from fluenzr.cli.oauth_redirect import Catcher, listen, wait_for_answer  # lazy: see above
    from fluenzr.i18n import translate  # lazy: see accounts.cmd_add
    from fluenzr.services.oauth_connect import finish_connect, start_connect
    from fluenzr.services.oauth_tokens import run_coroutine

    with handled(as_json=as_json):
        ctx = STATE.app()

        class handler(Catcher):
            result = None
            done_text = translate("cli.oauth.done")

        server = listen(port, handler)
        redirect = f"http://127.0.0.1:{server.server_address[1]}/"
        session_key = secrets.token_urlsafe(32)  # the flow belongs to this process only
        try:
            url = start_connect(
                ctx,
                provider=provider,
                email=email,
                workspace_id=STATE.workspace_id(),
                user_id=0,
                session_key=session_key,
                redirect_uri=redirect,
                account_id=account_id,
            )
            out = err_console()
            out.print(translate("cli.oauth.open_url"))
            out.print(url, soft_wrap=True, highlight=False)
            out.print(translate("cli.oauth.waiting", redirect_uri=redirect))
            wait_for_answer(server, handler, wait)
        finally:
            server.server_close()
        answer: dict[str, str] = handler.result or {}
        view = run_coroutine(
            finish_connect(
                ctx,
                state=answer.get("state", ""),
                code=answer.get("code"),
                error=answer.get("error") or (None if answer else "timeout"),
                error_description=answer.get("error_description", ""),
                session_key=session_key,
            )
        )
        if as_json:
            print_json(view.model_dump(mode="json"))
        else:
            err_console().print(f"{view.id}  {view.email}  {view.provider}  oauth")
