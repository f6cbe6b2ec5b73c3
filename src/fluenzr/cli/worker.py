"""`fluenzr worker`: the sending system (send, copy to Sent, detect replies)."""

from __future__ import annotations

from typing import Annotated

import typer

from fluenzr.cli.output import handled
from fluenzr.cli.state import STATE
from fluenzr.error_codes import ErrorCode

Opt = typer.Option


def register(app: typer.Typer, *, accounts: typer.Typer) -> None:
    """Add `worker` to the root app."""
    app.command("worker")(cmd_worker)


def cmd_worker(
    until_idle: Annotated[bool, Opt("--until-idle", help="Exit when nothing is due now.")] = False,
    only: Annotated[str, Opt("--only", help="send | detect | all")] = "all",
) -> None:
    """Run the sending system: send, copy to Sent, detect replies. SIGTERM stops cleanly."""
    # lazy: asyncio, the mail clients and the whole sending domain load only for the worker
    import asyncio
    import signal

    from fluenzr.errors import ValidationError
    from fluenzr.services.runtime import run_worker

    with handled():
        if only not in ("send", "detect", "all"):
            raise ValidationError(ErrorCode.ONLY_INVALID, params={"field": "only", "value": only})
        app = STATE.app()

        async def main() -> None:
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, stop.set)
            await run_worker(app, only=only, until_idle=until_idle, stop=stop)

        asyncio.run(main())
