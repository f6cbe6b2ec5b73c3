"""`fluenzr outbox [show|cancel]`: the queued, sent and failed messages."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from fluenzr.cli.output import console, handled, print_json, table
from fluenzr.cli.state import STATE

if TYPE_CHECKING:
    from fluenzr.services.outbox import OutboxView

Opt = typer.Option
JsonOpt = Annotated[bool, Opt("--json", help="Print one JSON document.")]
IdArg = Annotated[int, typer.Argument(help="Id.")]


def register(app: typer.Typer, *, accounts: typer.Typer) -> None:
    """Add the `outbox` group to the root app."""
    group = typer.Typer(help="Outbox: list, show, cancel.", invoke_without_command=True)
    group.callback()(outbox_main)
    group.command("show")(cmd_outbox_show)
    group.command("cancel")(cmd_outbox_cancel)
    app.add_typer(group, name="outbox")


def _rows(views: list[OutboxView]) -> list[tuple[object, ...]]:
    from fluenzr.i18n import translate  # lazy: catalogues only for text output

    return [
        (
            v.id,
            v.account_id,
            ", ".join(r.email for r in v.recipients),
            v.subject[:40],
            translate(f"outbox.status.{v.status}"),
            v.reason or "",
            v.attempts,
            (v.sent_at or v.next_attempt_at or v.created_at).isoformat(timespec="seconds"),
        )
        for v in views
    ]


def outbox_main(
    ctx: typer.Context,
    account: Annotated[int | None, Opt("--account", help="Only this account.")] = None,
    status: Annotated[str | None, Opt("--status", help="queued, sent, failed…")] = None,
    as_json: JsonOpt = False,
) -> None:
    """List the outbox (newest first)."""
    if ctx.invoked_subcommand is not None:
        return
    # lazy: the services pull in SQLAlchemy; other commands never pay for them
    from fluenzr.i18n import translate
    from fluenzr.services.outbox import list_outbox

    with handled(as_json=as_json):
        views = list_outbox(
            STATE.app(), workspace_id=STATE.workspace_id(), account_id=account, status=status
        )
        if as_json:
            print_json([v.model_dump(mode="json") for v in views])
            return
        columns = ["id", "account", "to", "subject", "status", "reason", "attempts", "when"]
        table(translate("outbox.title"), columns, _rows(views))


def cmd_outbox_show(outbox_id: IdArg, as_json: JsonOpt = False) -> None:
    """Show one message of the outbox."""
    from fluenzr.services.outbox import get_message  # lazy: see outbox_main

    with handled(as_json=as_json):
        view = get_message(STATE.app(), workspace_id=STATE.workspace_id(), outbox_id=outbox_id)
        if as_json:
            print_json(view.model_dump(mode="json"))
        else:
            data = view.model_dump(mode="json")
            table(None, ["", ""], [(k, v) for k, v in data.items() if v is not None])


def cmd_outbox_cancel(outbox_id: IdArg, as_json: JsonOpt = False) -> None:
    """Cancel a queued or deferred message."""
    # lazy: see outbox_main
    from fluenzr.i18n import translate
    from fluenzr.services.outbox import cancel

    with handled(as_json=as_json):
        view = cancel(STATE.app(), workspace_id=STATE.workspace_id(), outbox_id=outbox_id)
        if as_json:
            print_json({"id": view.id, "message_id": view.message_id, "status": view.status})
        else:
            console().print(translate("outbox.cancelled", id=view.id))
