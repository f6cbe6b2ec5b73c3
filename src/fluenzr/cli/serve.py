"""`fluenzr serve`: the web UI and the REST API."""

from __future__ import annotations

from typing import Annotated

import typer

from fluenzr.cli.output import console, handled
from fluenzr.cli.state import STATE
from fluenzr.error_codes import ErrorCode


def register(app: typer.Typer, *, accounts: typer.Typer) -> None:
    """Add `serve` to the root app."""
    app.command("serve")(cmd_serve)


def cmd_serve(
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
    # lazy: uvicorn, FastAPI and the whole web stack load only for `serve` (~1 s)
    import uvicorn

    from fluenzr.config import load_settings
    from fluenzr.errors import ValidationError
    from fluenzr.server import create_app
    from fluenzr.services.context import open_app

    with handled():
        if role not in ("all", "web"):
            raise ValidationError(ErrorCode.INVALID_INPUT, params={"field": "role"})
        overrides = dict(STATE.overrides)
        if role == "web":
            overrides["vault_read_only"] = True
        settings = load_settings(**overrides, http_host=host, http_port=port)
        ctx = open_app(settings)
    app = create_app(ctx, role="web" if role == "web" else "all")
    console().print(f"FluenzR: http://{settings.http_host}:{settings.http_port}/ ({role})")
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
