"""`fluenzr accounts pause|resume|pacing`: when an account may send."""

from __future__ import annotations

from typing import Annotated

import typer

from fluenzr.cli.output import console, handled, print_json
from fluenzr.cli.parsing import parse_datetime
from fluenzr.cli.state import STATE

Opt = typer.Option
JsonOpt = Annotated[bool, Opt("--json", help="Print one JSON document.")]
IdArg = Annotated[int, typer.Argument(help="Id.")]


def register(app: typer.Typer, *, accounts: typer.Typer) -> None:
    """Add this noun's commands to the `accounts` group."""
    accounts.command("pause")(cmd_pause)
    accounts.command("resume")(cmd_resume)
    accounts.command("pacing")(cmd_pacing)


def cmd_pause(
    account_id: IdArg,
    until: Annotated[str | None, Opt("--until", help="ISO 8601 with offset.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Pause sending from an account (its messages stay queued)."""
    # lazy: the services pull in SQLAlchemy; other commands never pay for them
    from fluenzr.i18n import translate
    from fluenzr.services import account_status

    with handled(as_json=as_json):
        view = account_status.pause(
            STATE.app(),
            workspace_id=STATE.workspace_id(),
            account_id=account_id,
            until=parse_datetime(until, field="until"),
        )
        if as_json:
            print_json(view.model_dump(mode="json"))
        else:
            console().print(translate("accounts.paused", id=view.id))


def cmd_resume(account_id: IdArg, as_json: JsonOpt = False) -> None:
    """Resume sending from a paused account."""
    # lazy: see cmd_pause
    from fluenzr.i18n import translate
    from fluenzr.services import account_status

    with handled(as_json=as_json):
        view = account_status.resume(
            STATE.app(), workspace_id=STATE.workspace_id(), account_id=account_id
        )
        if as_json:
            print_json(view.model_dump(mode="json"))
        else:
            console().print(translate("accounts.resumed", id=view.id))


def cmd_pacing(
    account_id: IdArg,
    days: Annotated[
        str | None, Opt("--days", help="Sending days: mon-fri, or 0,1,2 (0 = Monday).")
    ] = None,
    start: Annotated[str | None, Opt("--start", help="Window opens (HH:MM, account time).")] = None,
    end: Annotated[str | None, Opt("--end", help="Window closes (HH:MM, account time).")] = None,
    no_window: Annotated[bool, Opt("--no-window", help="Send at any time.")] = False,
    warmup_start: Annotated[
        int | None, Opt("--warmup-start", help="Warm-up: messages on day one.")
    ] = None,
    warmup_increment: Annotated[
        int | None, Opt("--warmup-increment", help="Warm-up: more each day, up to the cap.")
    ] = None,
    no_warmup: Annotated[bool, Opt("--no-warmup", help="No warm-up ramp.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Sending window and warm-up ramp of an account (caps: accounts edit)."""
    # lazy: see cmd_pause
    from fluenzr.i18n import translate
    from fluenzr.services import account_status

    with handled(as_json=as_json):
        window = None
        if days is not None or start is not None or end is not None:
            window = account_status.window_json(days, start, end)
        view = account_status.set_pacing(
            STATE.app(),
            workspace_id=STATE.workspace_id(),
            account_id=account_id,
            window=window,
            clear_window=no_window,
            warmup_start=warmup_start,
            warmup_increment=warmup_increment,
            clear_warmup=no_warmup,
        )
        if as_json:
            print_json(view.model_dump(mode="json"))
        else:
            console().print(translate("accounts.pacing_saved", id=view.id))
